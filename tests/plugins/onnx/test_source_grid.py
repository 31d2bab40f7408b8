"""Int4 exports of a model whose weights lie on a 4-bit grid keep that grid: the codes fit MatMulNBits exactly, the
grid's offsets and a LoRA adapter's change ride beside them in float, and a model off the grid falls back to the
activation-aware scaling."""

from __future__ import annotations

import shutil
from pathlib import Path

import attrs
import numpy as np
import pytest
import torch

from latentstack.sources import resolve_model
from latentstack.storage import read_manifest
from latentstack_onnx.decoder_export import DecoderExportConfig, export_decoder
from latentstack_onnx.source_grid import Grid, grid4, grid8, low_rank, plan

PROMPTS = ["What is the capital of France?", "Name a colour."]
CALIBRATION = ["the cat sat on the mat", "what is the capital of france? paris [1]"]


def _q4_1(w: np.ndarray) -> np.ndarray:
    """GGUF Q4_1's round trip: per block of 32 inputs, ``d * q + m`` with m the minimum and 16 levels."""
    b = w.reshape(w.shape[0], -1, 32)
    m = b.min(-1, keepdims=True)
    d = np.maximum((b.max(-1, keepdims=True) - m) / 15, 1e-12)
    return (np.rint((b - m) / d) * d + m).reshape(w.shape).astype(np.float32)


def _q8_0(w: np.ndarray) -> np.ndarray:
    b = w.reshape(w.shape[0], -1, 32)
    d = np.maximum(np.abs(b).max(-1, keepdims=True) / 127, 1e-12)  # the padding token's row is zeros
    return (np.rint(b / d) * d).reshape(w.shape).astype(np.float32)


def _unpack(grid: Grid) -> np.ndarray:
    packed = grid.packed
    codes = np.stack([packed & 15, packed >> 4], -1).reshape(packed.shape[0], packed.shape[1], -1)
    return (codes.astype(np.float32) - 8) * grid.scales[..., None] + grid.offsets[..., None]


def test_q4_1_blocks_are_reproduced_exactly_by_their_codes() -> None:
    w = _q4_1(np.random.default_rng(0).normal(size=(8, 64)).astype(np.float32))
    grid = grid4(w)
    assert grid is not None and grid.packed.shape == (8, 2, 16)
    np.testing.assert_allclose(_unpack(grid).reshape(8, 64), w, rtol=0, atol=1e-6)


def test_weights_off_a_grid_are_not_taken_for_one() -> None:
    w = np.random.default_rng(1).normal(size=(8, 64)).astype(np.float32)
    assert grid4(w) is None and grid8(w) is None
    assert grid4(w[:, :48]) is None  # not whole blocks
    assert grid8(_q8_0(w)) is not None and grid4(_q8_0(w)) is None  # 255 levels do not fit 16


def test_a_low_rank_change_is_factored_and_a_full_one_is_not() -> None:
    rng = np.random.default_rng(2)
    delta = (rng.normal(size=(96, 4)) @ rng.normal(size=(4, 64))).astype(np.float32)
    a, b = low_rank(delta)  # type: ignore[misc]
    assert a.shape == (64, 4) and b.shape == (4, 96)
    np.testing.assert_allclose(a @ b, delta.T, atol=1e-4)
    assert low_rank(rng.normal(size=(96, 64))) is None


def test_plan_takes_a_low_rank_change_of_the_projections_only() -> None:
    rng = np.random.default_rng(3)
    shapes = {"self_attn.q_proj": (64, 64), "self_attn.k_proj": (32, 64), "self_attn.v_proj": (32, 64),
              "self_attn.o_proj": (64, 64), "mlp.gate_proj": (96, 64), "mlp.up_proj": (96, 64), "mlp.down_proj": (64, 96)}
    base = {f"model.layers.0.{k}.weight": _q4_1(rng.normal(size=s).astype(np.float32)) for k, s in shapes.items()}
    base["model.layers.0.input_layernorm.weight"] = np.ones(64, np.float32)
    merged = dict(base)
    merged["model.layers.0.mlp.down_proj.weight"] = base["model.layers.0.mlp.down_proj.weight"] + np.outer(
        rng.normal(size=64), rng.normal(size=96)).astype(np.float32)
    branches = plan(base, merged)
    assert branches is not None and len(branches) == 4
    down = branches["/model/layers.0/mlp/down_proj/MatMul_Q4"]
    assert down.u.shape == (96, 3 + 1) and down.v.shape == (3 + 1, 64)  # three blocks' sums and a rank-1 change
    merged["model.layers.0.input_layernorm.weight"] = np.full(64, 2.0, np.float32)
    assert plan(base, merged) is None  # the builder reads the base's norms: a changed one cannot ride in a branch


def test_a_model_without_llamas_layers_has_no_plan() -> None:
    """Another layout (GPT-2's ``transformer.h.N``) was an empty plan, taken for weights on a 4-bit grid."""
    weights = {"transformer.h.0.attn.c_attn.weight": _q4_1(np.random.default_rng(0).normal(size=(32, 96)).astype(np.float32))}
    assert plan(weights, dict(weights)) is None


def _grid_model(tiny_llama_dir: Path, folder: Path) -> Path:
    """The tiny Llama with its projections put through Q4_1 and its (tied) embedding through Q8_0, as a GGUF has them."""
    from transformers import AutoModelForCausalLM

    shutil.copytree(tiny_llama_dir, folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("_proj.weight"):
                p.copy_(torch.from_numpy(_q4_1(p.numpy())))
            elif name.endswith("embed_tokens.weight"):
                p.copy_(torch.from_numpy(_q8_0(p.numpy())))
    model.save_pretrained(folder)
    return folder


def _lora(model_dir: Path, folder: Path) -> Path:
    from transformers import AutoModelForCausalLM

    from latentstack_lora.adapter import LoraAdapter

    lora = LoraAdapter.from_options(rank=4, targets=("q_proj", "v_proj", "down_proj"))
    with torch.random.fork_rng(), torch.no_grad():  # its own draws: the global seed depends on the tests before
        torch.manual_seed(0)
        model = lora.attach(AutoModelForCausalLM.from_pretrained(model_dir))
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.3)
    lora.save(model, folder, base_fingerprint=resolve_model(str(model_dir)).fingerprint())
    return folder


def test_int4_export_keeps_the_grid_with_the_adapter_beside_it(tiny_llama_dir: Path, tmp_path: Path) -> None:
    source = _grid_model(tiny_llama_dir, tmp_path / "q4")
    adapter = _lora(source, tmp_path / "lora")
    config = DecoderExportConfig(model=str(source), adapter=str(adapter), precision="int4", probe_tokens=8)
    kept = export_decoder(config, tmp_path / "grid", PROMPTS, CALIBRATION)
    assert kept["grid"] == read_manifest(tmp_path / "grid", kind="export", plugin="onnx").data["grid"]
    assert kept["grid"]["nodes"] == 8 and kept["grid"]["adapter_rank"] == 8 and kept["grid"]["head_codes"]
    assert kept["awq"] is None and kept["parity"]["passed"]
    rounded = export_decoder(attrs.evolve(config, grid=False), tmp_path / "rounded", PROMPTS, CALIBRATION)
    assert rounded["grid"] is None and rounded["awq"] is not None
    assert abs(kept["parity"]["nll_rise"]) < abs(rounded["parity"]["nll_rise"])


def test_a_model_off_the_grid_is_scaled_instead(tiny_llama_dir: Path, tmp_path: Path) -> None:
    data = export_decoder(DecoderExportConfig(model=str(tiny_llama_dir), precision="int4", probe_tokens=8),
                          tmp_path / "out", PROMPTS, CALIBRATION)
    assert data["grid"] is None and data["awq"] is not None


def test_cli_says_which_int4_weights_it_wrote(tiny_llama_dir: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from latentstack.cli import cli

    cli.load_plugin_commands()
    source = _grid_model(tiny_llama_dir, tmp_path / "q4")
    calib = tmp_path / "calib.txt"
    calib.write_text("\n".join(CALIBRATION))
    runner = CliRunner()
    base = ["-q", "export", "onnx", "--model", str(source), "--precision", "int4", "--calibrate", str(calib)]
    kept = runner.invoke(cli, [*base, "--out", str(tmp_path / "kept")])
    assert kept.exit_code == 0, kept.output
    assert "kept the weights' own 4-bit grid in 8 MatMuls" in kept.output and "--calibrate was not needed" in kept.output
    rounded = runner.invoke(cli, [*base, "--no-grid", "--out", str(tmp_path / "rounded")])
    assert rounded.exit_code == 0, rounded.output
    assert "weights scaled for int4 (AWQ) on 2 calibration prompts" in rounded.output and "own 4-bit grid" not in rounded.output


def test_the_generator_builds_the_int4_export_asked_for(tiny_llama_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from latentstack import get_generator
    from latentstack_onnx.generator import cached_export

    monkeypatch.setenv("LATENTSTACK_HOME", str(tmp_path / "home"))
    source = str(_grid_model(tiny_llama_dir, tmp_path / "q4"))
    kept, rounded = cached_export(source, "", "int4"), cached_export(source, "", "int4", grid=False)
    assert kept != rounded
    assert read_manifest(kept, kind="export").data["grid"]["nodes"] == 8
    assert read_manifest(rounded, kind="export").data["grid"] is None
    assert get_generator("onnx", model=source, precision="int4", grid=False).folder == rounded
