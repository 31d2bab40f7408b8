"""A tuned encoder saved as a sentence-transformers model folder: the base folder's files with the new weights,
and the pooling and length it was trained with written in sentence-transformers' own files, so that the
``bert`` embedder (``--model DIR``) and sentence-transformers both embed as training did. The folder is
written atomically with a checksummed ``manifest.json`` (kind ``model``), whose checksums also make the
folder's fingerprint change with every tuning."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from latentstack_bert.embedder import BertEmbedder
from latentstack_bert.st_layout import LEGACY_KEYS, POOLINGS

#: The base folder's files that the new weights replace (or that hold the old weights in another form).
OLD_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "tf_model.h5",
               "flax_model.msgpack", "rust_model.ot", "onnx", "openvino", "manifest.json",
               "train-state")  # a checkpoint's training state (latentstack.train_state.STATE) stays with it
#: sentence-transformers' legacy 1_Pooling keys (every version reads them), by the bert embedder's pooling names.
_MODE_KEYS = {POOLINGS[mode]: key for key, mode in LEGACY_KEYS.items()}
_PREFIX = "sentence_transformers.models."


def save_tuned(embedder: BertEmbedder, out: Path, report: dict[str, Any]) -> None:
    """Write ``out``: the base folder's other files, the tuned weights, the layout, then the manifest."""
    from latentstack.storage import component_dir, write_manifest

    base = embedder.resolved.path
    with component_dir(out, "model") as tmp:
        for item in sorted(base.iterdir()):
            if item.name not in OLD_WEIGHTS and not item.name.startswith("."):
                (shutil.copytree if item.is_dir() else shutil.copy2)(item, tmp / item.name)
        embedder.model.save_pretrained(tmp)
        write_layout(tmp, embedder)
        write_manifest(tmp, kind="model", plugin="bert", config={"base": embedder.config.model}, data=report)


def write_layout(folder: Path, embedder: BertEmbedder) -> None:
    """modules.json (a plain folder gets Transformer, Pooling, Normalize), the Pooling module's mode and
    sentence_bert_config.json's ``max_seq_length``, as the embedder read the texts."""
    modules = _modules(folder, embedder.config.normalize)
    pooling_dir = folder / next(str(m["path"]) for m in modules if str(m.get("type", "")).endswith(".Pooling"))
    pooling_dir.mkdir(exist_ok=True)
    pooling = _read(pooling_dir / "config.json")
    modes = {key: mode == embedder.pooling for mode, key in _MODE_KEYS.items()}
    if pooling.get("pooling_mode") or {k: pooling.get(k, False) for k in modes} != modes:
        kept = {k: v for k, v in pooling.items() if k not in modes and k != "pooling_mode"}
        _write(pooling_dir / "config.json",
               {"word_embedding_dimension": int(embedder.model_config.hidden_size), **kept, **modes})
    config = _read(folder / "sentence_bert_config.json")
    if config.get("max_seq_length") != embedder.max_tokens:
        _write(folder / "sentence_bert_config.json", {**config, "max_seq_length": embedder.max_tokens})


def _modules(folder: Path, normalize: bool) -> list[dict[str, Any]]:
    """The folder's modules.json, or the one a plain folder gets (written)."""
    if (folder / "modules.json").is_file():
        modules: list[dict[str, Any]] = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        return modules
    kinds = ["Transformer", "Pooling", *(["Normalize"] * normalize)]
    paths = ["", "1_Pooling", "2_Normalize"]
    modules = [{"idx": i, "name": str(i), "path": paths[i], "type": _PREFIX + kind} for i, kind in enumerate(kinds)]
    if normalize:
        (folder / "2_Normalize").mkdir()
    _write(folder / "modules.json", modules)
    return modules


def _read(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return value if isinstance(value, dict) else {}


def _write(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
