"""ONNX export: parity recorded and enforced, int8, merged LoRA, corrupt files, classifiers on ONNX features."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from latentstack import get_embedder
from latentstack.errors import CorruptFileError, ModelMismatchError, ParityError
from latentstack.storage import read_manifest, sha256_file, update_manifest
from latentstack.testing import EmbedderContract
from latentstack.testing.classifier_contract import TRAIN
from latentstack_onnx import export as export_mod
from latentstack_onnx.embedder import OnnxEmbedder, run_session, session
from latentstack_onnx.export import ExportConfig, export_onnx
from tests.plugins.encoder_lora import save_encoder_lora


@pytest.fixture(scope="module")
def exported(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "tiny"
    export_onnx(ExportConfig(model=str(tiny_bert_dir), int8=True), out)
    return out


class TestOnnxFp32(EmbedderContract):
    """The fp32 export of a tiny BERT behaves like any embedder."""

    @pytest.fixture
    def embedder(self, exported: Path) -> OnnxEmbedder:
        return OnnxEmbedder.from_options(model=str(exported), variant="fp32", batch_size=2)


def test_manifest_records_parity_and_vectors_match_torch(exported: Path, tiny_bert_dir: Path) -> None:
    manifest = read_manifest(exported, kind="export").data
    assert set(manifest["variants"]) == {"fp32", "int8"}
    assert manifest["variants"]["fp32"]["cosine_min"] >= 0.9999
    assert manifest["variants"]["int8"]["cosine_mean"] >= 0.99
    # the optimiser fused every layer's attention (onnxruntime 1.30's fused none of MiniLM's)
    layers = json.loads((tiny_bert_dir / "config.json").read_text())["num_hidden_layers"]
    assert manifest["fused_attention"] == layers
    # residual Add + LayerNormalization stay unfused (4x faster on CPU than SkipLayerNormalization),
    # and the int8 graph runs the tanh GELU
    ops = {f: {n.op_type for n in onnx.load(str(exported / f)).graph.node} for f in ("model.onnx", "model.int8.onnx")}
    assert "LayerNormalization" in ops["model.onnx"] and "SkipLayerNormalization" not in ops["model.onnx"]
    assert "BiasGelu" in ops["model.onnx"] and "FastGelu" in ops["model.int8.onnx"]
    assert "BiasGelu" not in ops["model.int8.onnx"]
    assert manifest["variants"]["int8"]["recipe"]["gelu"] == "tanh"
    texts = ["the cat sat on the mat", "free prize, call now", ""]
    ref = get_embedder("bert", model=str(tiny_bert_dir), dtype="float32").embed_many(texts)
    got = OnnxEmbedder.from_options(model=str(exported), variant="fp32").embed_many(texts)
    np.testing.assert_allclose(got, ref, atol=1e-4)
    assert OnnxEmbedder.from_options(model=str(exported)).variant == "int8"


def test_session_keeps_layer_norm_unfused(exported: Path, tmp_path: Path) -> None:
    """onnxruntime would fuse Add + LayerNormalization back into its slower SkipLayerNormalization on load."""
    from latentstack.hf import load_tokenizer

    sess = session(exported / "model.int8.onnx", 1, str(tmp_path / "profile"))
    run_session(sess, load_tokenizer(exported), ["the cat sat on the mat", "ok"], 64, 2, 32)
    events = json.loads(Path(sess.end_profiling()).read_text())
    ran = {e["args"]["op_name"] for e in events if e.get("cat") == "Node" and "op_name" in e.get("args", {})}
    assert "LayerNormalization" in ran and "FastGelu" in ran
    assert "SkipLayerNormalization" not in ran


def test_parity_failure_fails_loudly_and_writes_nothing(tiny_bert_dir: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(export_mod.THRESHOLDS, "fp32", ("cosine_min", 1.5))
    with pytest.raises(ParityError, match="fails parity"):
        export_onnx(ExportConfig(model=str(tiny_bert_dir)), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_corrupt_or_changed_onnx_file_is_a_clear_error(exported: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    (copy / "model.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(CorruptFileError, match="checksum mismatch"):
        OnnxEmbedder.from_options(model=str(copy), variant="fp32").embed_many(["x"])
    update_manifest(copy, lambda m: m["files"].update({"model.onnx": sha256_file(copy / "model.onnx")}))
    with pytest.raises(CorruptFileError, match="onnxruntime cannot load"):
        OnnxEmbedder.from_options(model=str(copy), variant="fp32").embed_many(["x"])
    with pytest.raises(CorruptFileError, match="has no manifest.json"):
        OnnxEmbedder.from_options(model=str(tmp_path)).embed_many(["x"])


def test_merged_lora_encoder_exports_with_parity(tiny_bert_dir: Path, tmp_path: Path) -> None:
    fp = get_embedder("bert", model=str(tiny_bert_dir)).resolved.fingerprint()
    adapter = save_encoder_lora(tiny_bert_dir, tmp_path / "adapter", fp)
    manifest = export_onnx(ExportConfig(model=str(tiny_bert_dir), adapter=str(adapter)), tmp_path / "merged")
    assert manifest["variants"]["fp32"]["cosine_min"] >= 0.9999
    texts = ["the cat sat", "win a prize"]
    with_adapter = OnnxEmbedder.from_options(model=str(tmp_path / "merged")).embed_many(texts)
    torch_adapter = get_embedder("bert", model=str(tiny_bert_dir), adapter=str(adapter), dtype="float32").embed_many(texts)
    plain = get_embedder("bert", model=str(tiny_bert_dir), dtype="float32").embed_many(texts)
    np.testing.assert_allclose(with_adapter, torch_adapter, atol=1e-4)
    assert not np.allclose(with_adapter, plain, atol=1e-3)


def test_adapter_for_another_base_model_is_refused(tiny_bert_dir: Path, tmp_path: Path) -> None:
    adapter = save_encoder_lora(tiny_bert_dir, tmp_path / "adapter", "0123456789abcdef")
    with pytest.raises(ModelMismatchError, match="fingerprint"):
        export_onnx(ExportConfig(model=str(tiny_bert_dir), adapter=str(adapter)), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_linear_classifier_runs_on_onnx_features_of_the_same_model(exported: Path, tiny_bert_dir: Path,
                                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from latentstack_linear.classifier import LinearClassifier

    monkeypatch.setenv("LATENTSTACK_CACHE", str(tmp_path / "cache"))
    texts, labels = [t for t, _ in TRAIN], [lab for _, lab in TRAIN]
    LinearClassifier.from_options(embedder="bert", embedder_options={"model": str(tiny_bert_dir)}).fit(
        texts, labels).save(tmp_path / "clf")
    torch_pred = LinearClassifier.load(tmp_path / "clf").predict(texts)
    onnx_emb = OnnxEmbedder.from_options(model=str(exported), variant="fp32")
    assert LinearClassifier.load(tmp_path / "clf", embedder=onnx_emb).predict(texts) == torch_pred
    export_onnx(ExportConfig(model=str(tiny_bert_dir), pooling="cls"), tmp_path / "cls")
    with pytest.raises(ModelMismatchError, match="export the same model"):
        LinearClassifier.load(tmp_path / "clf", embedder=OnnxEmbedder.from_options(model=str(tmp_path / "cls")))


@pytest.mark.slow
def test_the_export_counts_the_texts_it_cuts(minilm_int8: tuple[Path, dict[str, Any]]) -> None:
    """The export reads as many tokens as the embedder it came from, and counts the texts longer than that."""
    from latentstack import get_embedder

    onnx, torch = get_embedder("onnx", model=str(minilm_int8[0])), get_embedder("bert")
    texts = ["short", "word " * 300, "word " * 200]
    assert onnx.count_truncated(texts) == torch.count_truncated(texts) == 1


def test_minilm_int8_export_keeps_parity(minilm_int8: tuple[Path, dict[str, Any]]) -> None:
    folder, manifest = minilm_int8
    assert read_manifest(folder, kind="export").data == manifest
    assert manifest["variants"]["fp32"]["cosine_min"] >= 0.9999
    assert manifest["variants"]["int8"]["cosine_mean"] >= 0.99
    # the word embeddings (47 MB of MiniLM) stay fp32
    assert manifest["variants"]["int8"]["bytes"] < 0.8 * manifest["variants"]["fp32"]["bytes"]
