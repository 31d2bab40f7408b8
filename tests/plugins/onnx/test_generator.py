"""Decoder exports to ONNX Runtime GenAI and the onnx generator: a tiny random Llama for the plumbing,
SmolLM2 for the real thing (slow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from latentstack import get_generator
from latentstack.errors import ConfigError, CorruptFileError, InputError, LatentstackError, ModelMismatchError
from latentstack.interfaces import GenerationConfig
from latentstack.storage import read_manifest
from latentstack.testing import GeneratorContract
from latentstack_onnx.decoder_export import DecoderExportConfig, _kept_quiet, _run_builder, export_decoder, is_decoder
from latentstack_onnx.generator import GenaiGenerator

from .conftest import PROMPTS


class TestOnnxGenerator(GeneratorContract):
    """An fp32 export of a tiny random Llama behaves like any generator."""

    @pytest.fixture
    def generator(self, tiny_export: Path) -> GenaiGenerator:
        return GenaiGenerator.from_options(model=str(tiny_export))


def test_manifest_records_base_precision_builder_and_parity(tiny_export: Path, tiny_llama_dir: Path) -> None:
    from latentstack.sources import resolve_model

    data = read_manifest(tiny_export, kind="export", plugin="onnx").data
    assert data["decoder"] and data["precision"] == "fp32" and data["adapter"] is None
    assert data["base"]["fingerprint"] == resolve_model(str(tiny_llama_dir)).fingerprint()
    assert data["builder"]["onnxruntime_genai"]
    parity = data["parity"]
    assert parity["passed"] and parity["prompts"] == len(PROMPTS)
    assert parity["identical_share"] == 1.0 and abs(parity["nll_rise"]) < 1e-3


def test_greedy_text_is_the_torch_generators(tiny_export: Path, tiny_llama_dir: Path) -> None:
    """The fp32 export writes what the llm generator writes, on prompts the export's probe never saw."""
    torch_gen = get_generator("llm", model=str(tiny_llama_dir))
    onnx_gen = get_generator("onnx", model=str(tiny_export))
    for prompt in ["the cat sat on", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]]:
        options = GenerationConfig(max_new_tokens=16)
        assert onnx_gen.generate(prompt, options) == torch_gen.generate(prompt, options)
    penalised = GenerationConfig(max_new_tokens=16, repetition_penalty=1.3)
    assert onnx_gen.generate("the cat sat", penalised) == torch_gen.generate("the cat sat", penalised)
    openai = GenerationConfig(max_new_tokens=16, frequency_penalty=0.7, presence_penalty=0.4, logit_bias={40: 2})

    def tokens(gen: Any, options: GenerationConfig) -> list[str]:  # (its text may hold bytes of no character)
        return [t.token for piece in gen.stream_scored("the cat sat", options, 0) for t in piece.tokens]

    assert tokens(onnx_gen, openai) == tokens(torch_gen, openai) != tokens(torch_gen, GenerationConfig(
        max_new_tokens=16))
    assert onnx_gen.count_tokens("one two three") == torch_gen.count_tokens("one two three")


def test_scores_and_schemas_are_the_torch_generators(tiny_export: Path, tiny_llama_dir: Path) -> None:
    """The fp32 export scores each token as the llm generator does (same tokens, bytes, log-probabilities and
    alternatives), and holds an answer to a JSON schema the same way: the same JSON."""
    torch_gen = get_generator("llm", model=str(tiny_llama_dir))
    onnx_gen = get_generator("onnx", model=str(tiny_export))
    options = GenerationConfig(max_new_tokens=16, stop=("zz",))
    ours = [t for p in onnx_gen.stream_scored("the cat sat on", options, 3) for t in p.tokens]
    theirs = [t for p in torch_gen.stream_scored("the cat sat on", options, 3) for t in p.tokens]
    assert [(t.token, t.utf8) for t in ours] == [(t.token, t.utf8) for t in theirs] and len(ours) > 5
    assert [t.logprob for t in ours] == pytest.approx([t.logprob for t in theirs], abs=1e-3)
    assert [[a.token for a in t.top] for t in ours] == [[a.token for a in t.top] for t in theirs]
    schema = {"type": "object", "properties": {"n": {"enum": [1, 2, 3]}, "ok": {"type": "boolean"}},
              "required": ["n", "ok"], "additionalProperties": False}
    held = GenerationConfig(max_new_tokens=30, json_schema=schema)
    answer = onnx_gen.generate("count", held)
    assert json.loads(answer)["n"] in (1, 2, 3) and answer == torch_gen.generate("count", held)


def test_raw_prompts_are_the_torch_generators(tiny_export: Path, tiny_llama_dir: Path) -> None:
    """The fp32 export reads raw token ids as the llm generator does: the same ids and text, the prompt's tokens
    scored alike, the same raw continuation, the same tokenizer facts."""
    torch_gen = get_generator("llm", model=str(tiny_llama_dir))
    onnx_gen = get_generator("onnx", model=str(tiny_export))
    text = "the cat sat on the mat and the dog sat on the log"
    ids = onnx_gen.raw_tokens(text)
    assert ids == torch_gen.raw_tokens(text) and onnx_gen.raw_text(ids) == torch_gen.raw_text(ids) == text
    ours, theirs = onnx_gen.prompt_scores(ids, 2), torch_gen.prompt_scores(ids, 2)
    assert [t.token for t in ours] == [t.token for t in theirs] and len(ours) == len(ids) - 1
    assert [t.logprob for t in ours] == pytest.approx([t.logprob for t in theirs], abs=1e-3)
    options = GenerationConfig(max_new_tokens=10)
    assert "".join(p.text for p in onnx_gen.stream_raw(ids, options)) == "".join(
        p.text for p in torch_gen.stream_raw(ids, options))
    info, expected = onnx_gen.tokenizer_info(), torch_gen.tokenizer_info()
    assert {k: info[k] for k in ("bos_token", "eos_token")} == {k: expected[k] for k in ("bos_token", "eos_token")}
    assert info["chat_template"] and info["chat_template"].strip() == (expected["chat_template"] or "").strip()


def test_sampling_follows_the_seed(tiny_export: Path) -> None:
    gen = get_generator("onnx", model=str(tiny_export))
    runs = [gen.generate("hello", GenerationConfig(max_new_tokens=16, temperature=1.5, top_p=0.9, seed=s))
            for s in (1, 1, 2)]
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_prompt_over_the_window_is_a_clear_error(tiny_export: Path) -> None:
    gen = get_generator("onnx", model=str(tiny_export))
    with pytest.raises(InputError, match=f"context window of {gen.context_window} tokens"):
        gen.generate("cat " * (gen.context_window + 10), GenerationConfig(max_new_tokens=8))


def test_export_of_another_precision_or_adapter_is_refused(tiny_export: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelMismatchError, match="is fp32, not int4"):
        get_generator("onnx", model=str(tiny_export), precision="int4").generate("hi")
    not_an_adapter = tmp_path / "adapter"
    not_an_adapter.mkdir()
    with pytest.raises(CorruptFileError):
        get_generator("onnx", model=str(tiny_export), adapter=str(not_an_adapter)).generate("hi")


def test_a_changed_file_is_refused_before_onnxruntime_reads_it(tiny_export: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_export, copy)
    data = copy / "model.onnx.data"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match="checksum"):
        get_generator("onnx", model=str(copy)).generate("hi")


def test_a_builder_failure_is_one_line(tiny_llama_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(LatentstackError, match=r"model builder failed on .*tiny-llama.*: invalid literal for int"):
        _run_builder(tiny_llama_dir, tmp_path / "out", "int4", tmp_path / "scratch", ["block_size=oops"])


def test_what_the_builder_prints_or_logs_does_not_reach_the_user(capfd: pytest.CaptureFixture[str]) -> None:
    """The builder runs in-process: its prints are swallowed, and the root logger's INFO handler that
    onnxruntime's quantiser installs at import is removed again."""
    import logging

    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    with _kept_quiet():
        logging.basicConfig(level=logging.INFO, force=True)
        print("Extra options: {}")
        logging.getLogger("onnxruntime.quantization").info("start to quantize")
    logging.getLogger("later").info("a library's info line")
    assert (list(root.handlers), root.level) == before
    assert capfd.readouterr() == ("", "")


def test_encoder_folders_are_not_decoders(tiny_bert_dir: Path, tiny_llama_dir: Path) -> None:
    assert is_decoder(tiny_llama_dir) and not is_decoder(tiny_bert_dir)
    with pytest.raises(ConfigError, match="not a causal LM"):
        export_decoder(DecoderExportConfig(model=str(tiny_bert_dir)), Path("/nonexistent/never-written"))


def test_a_decoder_the_builder_cannot_build_is_refused_first(tiny_gpt2_dir: Path, tmp_path: Path) -> None:
    """GPT-2 (``GPT2LMHeadModel``) is a causal LM, not an encoder (the CLI took it for one and failed the encoder's
    parity); onnxruntime-genai's builder has no GPT-2, which is said before any reference or calibration run
    (int4 had also taken its random weights for a 4-bit grid), and nothing is written."""
    assert is_decoder(tiny_gpt2_dir)
    for precision in ("int4", "fp32"):
        with pytest.raises(ConfigError, match=r"model builder does not build GPT2LMHeadModel \(.*\); it builds these "
                                              r"causal LMs: .*Llama.*Qwen2"):
            export_decoder(DecoderExportConfig(model=str(tiny_gpt2_dir), precision=precision), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_sliding_window_decoder_exports_and_generates(tmp_path: Path) -> None:
    """Gemma 2 (Mistral, Gemma 3) attends within a window on some layers, and GenAI refuses a KV cache smaller than
    the window: the parity check and the generator asked for just the prompt and answer, so the export stopped
    on GenAI's RuntimeError. The cache is now at least the window (up to the context)."""
    from latentstack.testing.tiny_models import save_tiny_gemma2
    from latentstack_onnx.genai_tokens import genai_model, kv_floor

    source = save_tiny_gemma2(tmp_path / "gemma2", sliding_window=128)
    data = export_decoder(DecoderExportConfig(model=str(source), precision="fp32", probe_tokens=8), tmp_path / "out",
                          PROMPTS)
    assert data["parity"]["passed"] and kv_floor(genai_model(tmp_path / "out")) == 128
    gen = GenaiGenerator.from_options(model=str(tmp_path / "out"))
    assert gen.generate(PROMPTS[0], GenerationConfig(max_new_tokens=6)) == get_generator(
        "llm", model=str(source)).generate(PROMPTS[0], GenerationConfig(max_new_tokens=6))
    again = list(gen.stream_answer(PROMPTS[0], GenerationConfig(max_new_tokens=6)))[-1].finish
    assert again is not None and again.cached == 0  # a sliding window's generator is not kept to rewind


def test_an_export_whose_template_refuses_a_system_message_reads_it_in_the_user_message(tmp_path: Path) -> None:
    """Gemma's template refuses a system message: GenAI's template raised on ask's system prompt; the export's
    prompt is now the torch generator's, the system prompt at the head of the user message."""
    from latentstack.testing.tiny_models import NO_SYSTEM, save_tiny_llama
    from latentstack_onnx.calibration import rag_prompts
    from latentstack_onnx.decoder_export import calibration_ids

    source = save_tiny_llama(tmp_path / "no-system", template=NO_SYSTEM)
    export_decoder(DecoderExportConfig(model=str(source), precision="fp32", probe_tokens=4), tmp_path / "out", PROMPTS)
    asked = [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "the cat sat on"}]
    onnx = GenaiGenerator.from_options(model=str(tmp_path / "out"))
    torch_gen = get_generator("llm", model=str(source))
    assert onnx.text.prompt_ids(asked) == torch_gen.prompt_ids(asked)[0].tolist()
    options = GenerationConfig(max_new_tokens=6)
    assert onnx.generate(asked, options) == torch_gen.generate(asked, options)
    rag = rag_prompts()[0]  # int4's built-in calibration: RAG prompts, a system message first
    assert calibration_ids(torch_gen.tokenizer, rag) == torch_gen.prompt_ids(rag)[0].tolist()


def test_picking_rules_match_the_torch_generators() -> None:
    """The numpy penalty and nucleus rules are the llm generator's, on the same logits."""
    import torch

    from latentstack_llm.decoding import penalize as torch_penalize
    from latentstack_onnx.genai_decode import penalize, pick

    rng = np.random.default_rng(0)
    logits = rng.normal(size=50).astype(np.float32)
    seen = [3, 7, 7, 20]
    ours = penalize(logits, seen, 1.3)
    theirs = torch_penalize(torch.tensor(logits), torch.tensor(seen), 1.3).numpy()
    assert np.allclose(ours, theirs)
    assert pick(logits, 0.0, 1.0, rng) == int(np.argmax(logits))
    peaked = np.full(50, -10.0, dtype=np.float32)
    peaked[11] = 10.0
    assert {pick(peaked, 1.0, 0.5, np.random.default_rng(s)) for s in range(20)} == {11}  # top_p keeps the top token
    spread = np.log(np.array([0.05, 0.5, 0.3, 0.1, 0.05], dtype=np.float32))
    for rules, kept in (({"top_k": 2}, {1, 2}), ({"top_k": 3}, {1, 2, 3}), ({"min_p": 0.5}, {1, 2}),
                        ({"top_k": 3, "top_p": 0.75}, {1, 2}), ({"top_k": 1}, {1})):
        top_p = float(rules.pop("top_p", 1.0))
        assert {pick(spread, 1.0, top_p, rng, **rules) for _ in range(300)} == kept, rules  # type: ignore[arg-type]


@pytest.mark.slow
def test_smollm2_int4_export_keeps_its_bound_and_a_cold_ask_needs_no_torch(
        minilm_int8: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """The real model at int4 passes its loss bound; an ask on an onnx-embedder index with the onnx
    generator answers without importing torch or transformers."""
    from ...conftest import run_cli

    out = tmp_path / "smol-int4"
    data = export_decoder(DecoderExportConfig(precision="int4", probe_tokens=16), out, PROMPTS)
    assert data["parity"]["passed"] and data["parity"]["nll_rise"] <= 0.5
    assert data["grid"]["nodes"] == 120  # the packaged model is a Q4_1 GGUF's: its own grid is kept
    assert (out / "model.onnx.data").stat().st_size < 300e6  # int4 body, int8 head, float embedding: not fp32's 540 MB

    encoder = minilm_int8[0]
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps(d) + "\n" for d in [
        {"id": "bread", "text": "Bread dough rises because yeast ferments sugars and releases carbon dioxide."},
        {"id": "volcano", "text": "Volcanoes erupt when magma rises through the crust."}]))
    run_cli("-q", "index", "build", str(tmp_path / "idx"), "--from", str(docs), "--embedder", "onnx",
            "-o", f"model={encoder}", check=True)
    done = run_cli("-q", "ask", str(tmp_path / "idx"), "Why does bread dough rise?", "-k", "1",
                   "--generator", "onnx", "--model", str(out), env={"PYTHONPROFILEIMPORTTIME": "1"}, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")}
    assert "bread" in done.stdout and "latentstack_onnx.generator" in imported
    assert not {"torch", "transformers"} & imported


def test_stop_string_cuts_the_stream(tiny_export: Path) -> None:
    gen = get_generator("onnx", model=str(tiny_export))
    full = gen.generate("the cat", GenerationConfig(max_new_tokens=30))
    if len(full) < 4:
        pytest.skip("the random model ended too early to pick a stop string")
    stop = full[2:4]
    assert gen.generate("the cat", GenerationConfig(max_new_tokens=30, stop=(stop,))) == full[: full.index(stop)]


def test_teacher_forced_rows_are_read_in_one_pass_as_a_token_at_a_time_reads_them(tiny_export: Path) -> None:
    from latentstack_onnx.genai_decode import forced_logits, last_logits, new_generator
    from latentstack_onnx.genai_tokens import load_model

    model = load_model(tiny_export)
    prompt, answer = [5, 9, 12, 30, 31, 7], [40, 41, 8, 9]
    stepwise = new_generator(model, len(prompt) + len(answer))
    stepwise.append_tokens(prompt)
    expected = []
    for token in answer:
        expected.append(last_logits(stepwise))
        stepwise.append_tokens([token])
    rows = list(forced_logits(model, prompt, answer))
    assert len(rows) == len(answer)
    for row, want in zip(rows, expected, strict=True):
        assert row == pytest.approx(want, abs=1e-4)
    assert list(forced_logits(model, prompt, [])) == []
