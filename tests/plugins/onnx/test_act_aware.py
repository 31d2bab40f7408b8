"""Activation-aware scaling before the int4 decoder export: it mirrors onnxruntime's quantiser, keeps the float
model's function, lowers the quantised error, and is recorded in the export's manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from latentstack.storage import read_manifest
from latentstack_onnx.act_aware import awq, quantize
from latentstack_onnx.decoder_export import DecoderExportConfig, export_decoder

PROMPTS = ["What is the capital of France?", "Name a colour."]
CALIBRATION = ["the cat sat on the mat", "yeast ferments sugars and releases carbon dioxide",
               "what is the capital of france? paris [1]"]


@pytest.mark.parametrize(("inp", "block"), [(64, 16), (64, 32), (40, 16)])
def test_quantize_is_onnxruntimes_int4_round_trip(inp: int, block: int) -> None:
    from onnxruntime.capi._pybind_state import quantize_matmul_4bits

    out = 24
    w = np.random.default_rng(inp + block).standard_normal((out, inp)).astype(np.float32)
    blocks = -(-inp // block)
    packed = np.zeros((out, blocks, block // 2), dtype=np.uint8)
    scales = np.zeros((out, blocks), dtype=np.float32)
    zero_points = np.zeros((out, (blocks + 1) // 2), dtype=np.uint8)
    quantize_matmul_4bits(packed, np.ascontiguousarray(w.T), scales, zero_points, block, out, inp, True)
    nibbles = np.stack([packed & 0x0F, packed >> 4], -1).reshape(out, blocks * block).astype(np.float32) - 8
    theirs = (nibbles.reshape(out, blocks, block) * scales[..., None]).reshape(out, -1)[:, :inp]
    np.testing.assert_array_equal(quantize(torch.from_numpy(w), block).numpy(), theirs)


def _model(tiny_llama_dir: Path, outlier: float) -> tuple[object, list[torch.Tensor]]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float32).eval()
    with torch.no_grad():  # one channel of every norm's output made large, as trained LLMs have
        for layer in model.model.layers:
            layer.input_layernorm.weight[3] = outlier
            layer.post_attention_layernorm.weight[5] = outlier
    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    return model, [torch.tensor([tok(t)["input_ids"]]) for t in CALIBRATION]


def test_scaling_keeps_the_float_function_and_lowers_the_quantised_error(tiny_llama_dir: Path) -> None:
    model, batches = _model(tiny_llama_dir, outlier=30.0)
    probe = torch.tensor([[5, 17, 42, 8, 99, 3]])
    with torch.no_grad():
        before = model(probe).logits
        stats = awq(model, batches, block=16)
        after = model(probe).logits
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)
    assert stats["output_error_scaled"] < 0.5 * stats["output_error_rtn"]
    assert stats["block"] == 16 and stats["tokens"] == sum(b.shape[1] for b in batches)


def test_scaling_never_raises_the_calibration_error(tiny_llama_dir: Path) -> None:
    model, batches = _model(tiny_llama_dir, outlier=1.0)  # no outliers: alpha 0 (plain rounding) is a candidate
    stats = awq(model, batches, block=32)
    assert stats["output_error_scaled"] <= stats["output_error_rtn"]


@pytest.mark.parametrize("scaled", [True, False])
def test_int4_export_records_its_scaling(tiny_llama_dir: Path, tmp_path: Path, scaled: bool,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("latentstack_onnx.decoder_export.CALIBRATION_PROMPTS", 2)  # more are sampled down to this
    out = tmp_path / "int4"
    data = export_decoder(DecoderExportConfig(model=str(tiny_llama_dir), precision="int4", probe_tokens=8, awq=scaled),
                          out, PROMPTS, CALIBRATION)
    recorded = read_manifest(out, kind="export", plugin="onnx").data["awq"]
    assert recorded == data["awq"]
    if scaled:
        assert recorded["prompts"] == 2 and recorded["prompts_given"] == len(CALIBRATION) and recorded["block"] == 16
        assert recorded["output_error_scaled"] <= recorded["output_error_rtn"]
    else:
        assert recorded is None


def test_int8_and_fp32_exports_are_not_scaled(tiny_llama_dir: Path, tmp_path: Path) -> None:
    data = export_decoder(DecoderExportConfig(model=str(tiny_llama_dir), precision="int8", probe_tokens=8),
                          tmp_path / "int8", PROMPTS, CALIBRATION)
    assert data["awq"] is None and data["parity"]["passed"]


def test_calibration_prompts_are_chat_prompts_or_whole_conversations(tiny_llama_dir: Path) -> None:
    from transformers import AutoTokenizer

    from latentstack_onnx.calibration import decoder_calibration, rag_prompts
    from latentstack_onnx.decoder_export import calibration_ids
    from latentstack_onnx.decoder_parity import torch_prompt_ids

    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    assert calibration_ids(tok, "the cat sat") == torch_prompt_ids(tok, "the cat sat")
    asked = [{"role": "user", "content": "the cat sat"}]
    answered = [*asked, {"role": "assistant", "content": "on the mat"}]
    assert calibration_ids(tok, asked) == torch_prompt_ids(tok, "the cat sat")  # ends with the generation prompt
    whole = tok.decode(calibration_ids(tok, answered))
    assert whole.rstrip().endswith("on the mat<|im_end|>") and whole.count("<|im_start|>assistant") == 1
    rag = rag_prompts()
    assert rag and all(m[0]["role"] == "system" and "[3]" in m[1]["content"] for m in rag)
    assert rag[0] in decoder_calibration()


def test_a_norm_the_scaling_cannot_fold_into_is_refused(tiny_llama_dir: Path) -> None:
    """A norm whose output is not linear in its weight cannot take 1/s: the changed model is refused."""
    from latentstack.errors import ConfigError

    class SquashedNorm(torch.nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.ones(dim))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.tanh(x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight)

    model, batches = _model(tiny_llama_dir, outlier=30.0)
    for layer in model.model.layers:
        layer.input_layernorm = SquashedNorm(model.config.hidden_size)
    with pytest.raises(ConfigError, match="--no-awq"):
        awq(model, batches, block=16)


def test_gemma_and_phi3_layouts_are_folded_into(tmp_path: Path) -> None:
    """Gemma's RMSNorm multiplies by ``1 + w`` (and Gemma 2 and 3 norm the MLP's input with their own
    pre-feedforward norm): dividing ``w`` by the scale changed the model, so an int4 export of a Gemma stopped
    asking for --no-awq. Phi-3 fuses q/k/v and gate/up into one projection each: it was refused. The scaling now
    keeps each one's float function and lowers the quantised error."""
    from transformers import AutoTokenizer, Gemma2Config, Gemma2ForCausalLM, GemmaConfig, GemmaForCausalLM, Phi3Config, Phi3ForCausalLM

    from latentstack.testing.tiny_models import save_tiny_llama
    from latentstack_onnx.act_aware import supported

    tok = AutoTokenizer.from_pretrained(save_tiny_llama(tmp_path / "tok"))
    batches = [torch.tensor([tok(t)["input_ids"]]) for t in CALIBRATION]
    shape = {"vocab_size": len(tok), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16, "pad_token_id": tok.pad_token_id}
    phi3 = Phi3Config(**shape, original_max_position_embeddings=4096)
    for config, cls in ((GemmaConfig(**shape), GemmaForCausalLM), (Gemma2Config(**shape), Gemma2ForCausalLM),
                        (phi3, Phi3ForCausalLM)):
        torch.manual_seed(0)
        model = cls(config).eval()
        assert supported(model)
        with torch.no_grad():
            for layer in model.model.layers:  # outlier channels, as trained models have
                layer.input_layernorm.weight[3] = 30.0
                getattr(layer, "pre_feedforward_layernorm", layer.post_attention_layernorm).weight[5] = 30.0
            probe = torch.tensor([[5, 17, 42, 8, 99, 3]])
            before = model(probe).logits
            stats = awq(model, batches, block=16)
            torch.testing.assert_close(model(probe).logits, before, rtol=1e-4, atol=1e-4)
        assert stats["output_error_scaled"] < stats["output_error_rtn"], cls.__name__
