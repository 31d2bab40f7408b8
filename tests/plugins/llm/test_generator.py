"""The llm generator on a tiny random Llama (plumbing), and on SmolLM2 (slow, real)."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentstack.errors import InputError
from latentstack.interfaces import GenerationConfig
from latentstack.testing import GeneratorContract
from latentstack_llm.generator import LlmGenerator


@pytest.fixture(scope="module")
def tiny(tiny_llama_dir: Path) -> LlmGenerator:
    return LlmGenerator.from_options(model=str(tiny_llama_dir))


def test_stream_joins_to_generate_and_respects_max_new_tokens(tiny: LlmGenerator) -> None:
    options = GenerationConfig(max_new_tokens=12)
    pieces = list(tiny.stream("the cat sat", options))
    assert "".join(pieces) == tiny.generate("the cat sat", options)
    assert tiny.count_tokens("".join(pieces)) <= 12 + 2  # re-tokenising decoded text may merge or split


def test_greedy_is_deterministic_and_sampling_follows_the_seed(tiny: LlmGenerator) -> None:
    greedy = GenerationConfig(max_new_tokens=10)
    assert tiny.generate("hello", greedy) == tiny.generate("hello", greedy)
    sampled = [tiny.generate("hello", GenerationConfig(max_new_tokens=16, temperature=1.5, seed=s)) for s in (1, 1, 2)]
    assert sampled[0] == sampled[1]
    assert sampled[0] != sampled[2]


def test_stop_string_ends_the_answer_and_is_not_shown(tiny: LlmGenerator) -> None:
    full = tiny.generate("the cat", GenerationConfig(max_new_tokens=30))
    if len(full) < 4:
        pytest.skip("the random model ended too early to pick a stop string")
    stop = full[2:4]
    cut = tiny.generate("the cat", GenerationConfig(max_new_tokens=30, stop=(stop,)))
    assert cut == full[: full.index(stop)]


def test_repetition_penalty_reaches_the_decode_loop(tiny: LlmGenerator) -> None:
    plain = tiny.generate("the cat sat", GenerationConfig(max_new_tokens=20))
    assert tiny.generate("the cat sat", GenerationConfig(max_new_tokens=20, repetition_penalty=1.0)) == plain
    assert tiny.generate("the cat sat", GenerationConfig(max_new_tokens=20, repetition_penalty=5.0)) != plain


def test_empty_prompt_and_prompt_over_the_window_are_clear_errors(tiny: LlmGenerator) -> None:
    with pytest.raises(InputError, match="empty"):
        tiny.generate("   ")
    with pytest.raises(InputError, match="context window of 2048 tokens"):
        tiny.generate("cat " * 2500, GenerationConfig(max_new_tokens=8))


def test_missing_model_names_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from latentstack.errors import LatentstackError

    gen = LlmGenerator.from_options(model="no-such-model-anywhere")
    with pytest.raises(LatentstackError, match="no-such-model-anywhere"):
        gen.generate("hi")


def test_a_model_without_a_chat_template_is_one_line(tiny_bert_dir: Path) -> None:
    """An encoder (or a base model) given as the chat model: transformers' paragraph about chat templates before;
    generation and SFT's example encoding both say what to give instead."""
    from latentstack.errors import ConfigError
    from latentstack_llm.sft import encode_example

    gen = LlmGenerator.from_options(model=str(tiny_bert_dir))
    with pytest.raises(ConfigError, match="has no chat template, so it is not a chat model"):
        gen.generate("hi", GenerationConfig(max_new_tokens=2))
    with pytest.raises(ConfigError, match="has no chat template"):
        encode_example(gen.tokenizer, [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], 64)


def test_a_model_without_a_causal_lm_is_one_line(tiny_t5_dir: Path) -> None:
    """A T5 folder trained on plain text (adapt sft, which needs no chat template) or read by the llm embedder:
    transformers' error listing some two hundred model types it would take."""
    from latentstack.errors import ConfigError
    from latentstack_llm.loading import load_causal_lm

    with pytest.raises(ConfigError, match=r"holds no causal LM .*none for t5 models .*give a decoder"):
        load_causal_lm(tiny_t5_dir, "float32", "cpu")


def test_an_encoder_is_not_taken_for_a_causal_lm(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A BERT folder: transformers builds BertLMHeadModel from it (a warning, then noise); adapt sft trained that.
    A BERT saved as a decoder (is_decoder set) is still loaded."""
    import json
    import shutil

    from latentstack.errors import ConfigError
    from latentstack_llm.loading import load_causal_lm

    with pytest.raises(ConfigError, match=r"holds an encoder \(bert\), not a causal LM.*give a decoder"):
        load_causal_lm(tiny_bert_dir, "float32", "cpu")
    decoder = shutil.copytree(tiny_bert_dir, tmp_path / "bert-decoder")
    config = json.loads((decoder / "config.json").read_text())
    (decoder / "config.json").write_text(json.dumps({**config, "is_decoder": True}))
    assert type(load_causal_lm(decoder, "float32", "cpu")).__name__ == "BertLMHeadModel"


@pytest.mark.slow
def test_smollm2_answers_and_streams() -> None:
    gen = LlmGenerator.from_options()
    options = GenerationConfig(max_new_tokens=20)
    pieces = list(gen.stream("What is the capital of France? Answer in one word.", options))
    assert len(pieces) > 1
    assert "paris" in "".join(pieces).lower()


def _most_repeated_5gram(text: str) -> int:
    words = text.split()
    grams = [tuple(words[i:i + 5]) for i in range(len(words) - 4)]
    return max((grams.count(g) for g in grams), default=0)


@pytest.mark.slow
def test_smollm2_greedy_loop_is_broken_by_a_repetition_penalty() -> None:
    """The README's haiku: greedy SmolLM2-135M repeats one phrase over and over; 1.1 stops it."""
    gen = LlmGenerator.from_options()
    looped = gen.generate("Write a haiku about tides.", GenerationConfig(max_new_tokens=80))
    fixed = gen.generate("Write a haiku about tides.", GenerationConfig(max_new_tokens=80, repetition_penalty=1.1))
    assert _most_repeated_5gram(looped) >= 5
    assert _most_repeated_5gram(fixed) <= 1 and "tide" in fixed.lower()


def test_a_long_raw_prompt_is_scored_in_chunks_as_in_one_pass(tiny: LlmGenerator,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A prompt longer than a chunk is scored a chunk at a time (the cache carries the rest), as one pass scores it;
    ids outside the vocabulary or past the window are InputErrors."""
    import latentstack_llm.raw as raw

    ids = tiny.raw_tokens("one two three four five six seven eight nine ten " * 3)
    whole = [s.logprob for s in tiny.prompt_scores(ids)]
    monkeypatch.setattr(raw, "CHUNK", 4)
    chunked = [s.logprob for s in tiny.prompt_scores(ids)]
    assert len(ids) > 8 and len(chunked) == len(ids) - 1
    assert max(abs(a - b) for a, b in zip(whole, chunked, strict=True)) < 1e-4
    with pytest.raises(InputError, match="not in the model's vocabulary"):
        tiny.prompt_scores([0, len(tiny.tokenizer)])
    with pytest.raises(InputError, match="context window"):
        list(tiny.stream_raw([1] * (tiny.context_window + 1)))


class TestTinyLlamaContract(GeneratorContract):
    """The llm generator meets the Generator contract (tiny random Llama: plumbing only)."""

    @pytest.fixture
    def generator(self, tiny: LlmGenerator) -> LlmGenerator:
        """The module's tiny generator."""
        return tiny
