"""Activation smoothing before int8: the fp32 function is unchanged, and the int8 recipe is recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from latentstack.hf import load_tokenizer
from latentstack.storage import read_manifest
from latentstack_onnx.embedder import run_session, session
from latentstack_onnx.export import ExportConfig, calibration_feeds, export_onnx
from latentstack_onnx.smoothing import smooth, smoothable

TEXTS = ["the cat sat on the mat", "WIN a FREE prize, call 0800 now!!", "", "ok",
         "a much longer sentence about tides, the moon and the sea, repeated twice; " * 2]


@pytest.fixture(scope="module")
def fp32(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "tiny"
    export_onnx(ExportConfig(model=str(tiny_bert_dir)), out)
    return out


def test_smoothing_targets_every_projection_that_reads_a_layer_norm(fp32: Path) -> None:
    targets = smoothable(onnx.load(str(fp32 / "model.onnx")).graph)
    readers = [node.op_type for nodes in targets.values() for node in nodes]
    layers = 2  # the tiny BERT: per layer one fused Attention (QKV) and the feed-forward's first MatMul
    assert sorted(readers) == ["Attention"] * layers + ["MatMul"] * layers


def test_smoothing_leaves_the_fp32_function_unchanged(fp32: Path, tmp_path: Path) -> None:
    dst = tmp_path / "smoothed.onnx"
    names = smooth(fp32 / "model.onnx", dst, calibration_feeds(load_tokenizer(fp32), TEXTS, 64), alpha=0.5)
    assert len(names) == 4
    graph = onnx.load(str(dst)).graph
    muls = [n for n in graph.node if n.name.startswith("Smooth_")]
    assert len(muls) == 4  # one per LayerNorm output, shared by the projections that read it
    tokenizer = load_tokenizer(fp32)
    before = run_session(session(fp32 / "model.onnx"), tokenizer, TEXTS, 64, 2, 32)
    after = run_session(session(dst), tokenizer, TEXTS, 64, 2, 32)
    np.testing.assert_allclose(after, before, atol=1e-5)
    original = {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(str(fp32 / "model.onnx")).graph.initializer}
    scaled = [i.name for i in graph.initializer if i.name in original
              and not np.array_equal(onnx.numpy_helper.to_array(i), original[i.name])]
    assert len(scaled) == 4  # the weights were moved, not left alone


def test_smoothing_without_calibration_texts_is_an_error(fp32: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one calibration text"):
        smooth(fp32 / "model.onnx", tmp_path / "x.onnx", [], alpha=0.5)


def test_int8_manifest_records_the_recipe(tiny_bert_dir: Path, tmp_path: Path) -> None:
    smoothed = export_onnx(ExportConfig(model=str(tiny_bert_dir), int8=True), tmp_path / "a",
                           calibration=TEXTS)["variants"]["int8"]
    assert smoothed["recipe"] == {"smooth": 0.5, "smoothed_nodes": 4, "smoothed_weight_bits": 7, "gelu": "tanh",
                                  "calibration_texts": len(TEXTS)}
    plain = export_onnx(ExportConfig(model=str(tiny_bert_dir), int8=True, smooth=0.0, int8_gelu="erf"),
                        tmp_path / "b")
    assert plain["variants"]["int8"]["recipe"] == {"smooth": 0.0, "smoothed_nodes": 0, "gelu": "erf"}
    # smoothing quantises the QKV projections too; without it they stay fp32 inside the Attention op
    ops = {name: {n.op_type for n in onnx.load(str(tmp_path / name / "model.int8.onnx")).graph.node}
           for name in ("a", "b")}
    assert "QAttention" in ops["a"] and "QAttention" not in ops["b"]
    assert "FastGelu" in ops["a"] and "BiasGelu" in ops["b"] and "FastGelu" not in ops["b"]
    for pattern in ("*.prepared.onnx", "*.smoothed.onnx", "*.half.onnx"):
        assert not list(tmp_path.glob(f"*/{pattern}"))
    assert read_manifest(tmp_path / "a", kind="export").config["smooth"] == 0.5


def test_smooth_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="smooth"):
        ExportConfig(smooth=1.5)
    with pytest.raises(ValueError, match="int8_gelu"):
        ExportConfig(int8_gelu="relu")


@pytest.mark.slow
def test_smoothing_lifts_minilm_int8_parity(minilm_int8: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """MiniLM's LayerNorm outliers cost int8 parity; smoothing (the default recipe) wins it back while
    quantising QKV too."""
    smoothed = minilm_int8[1]["variants"]["int8"]
    assert smoothed["recipe"]["smooth"] == 0.5
    plain = export_onnx(ExportConfig(model="minilm", int8=True, smooth=0.0), tmp_path / "p")["variants"]["int8"]
    assert smoothed["recipe"]["smoothed_nodes"] == 12  # 6 layers x (QKV, feed-forward in)
    assert smoothed["cosine_mean"] > plain["cosine_mean"] + 0.001
    assert smoothed["cosine_min"] > plain["cosine_min"]
    assert smoothed["bytes"] < plain["bytes"]  # the QKV weights are int8 as well


def test_unoptimised_graph_smooths_q_k_and_v_matmuls(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Without the Attention fusion, Q, K and V are three MatMuls reading one LayerNorm output."""
    manifest = export_onnx(ExportConfig(model=str(tiny_bert_dir), int8=True, optimize=False), tmp_path / "x",
                           calibration=TEXTS)
    assert manifest["variants"]["int8"]["recipe"]["smoothed_nodes"] == 2 * 4  # per layer Q, K, V, feed-forward in
    assert manifest["variants"]["int8"]["cosine_mean"] >= 0.99
    assert manifest["fused_attention"] is None  # not optimised, nothing to count
    assert manifest["variants"]["int8"]["recipe"]["gelu"] == "erf"  # no fused BiasGelu to swap
