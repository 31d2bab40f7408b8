"""Scored streaming: each token's log-probability against the model run once over prompt and answer, the tokens'
bytes against the answer's text, and stop strings, on a tiny random Llama and SmolLM2."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentstack.errors import ConfigError, InputError
from latentstack.interfaces import GenerationConfig
from latentstack.interfaces.generator import ScoredPiece
from latentstack_llm.generator import LlmGenerator


@pytest.fixture(scope="module")
def tiny(tiny_llama_dir: Path) -> LlmGenerator:
    return LlmGenerator.from_options(model=str(tiny_llama_dir))


def _forced(gen: LlmGenerator, prompt: str, answer: list[int]) -> list[list[float]]:
    """Each answer token's row of log-probabilities, from one forward pass over prompt and answer."""
    import torch

    ids = gen.prompt_ids(prompt)
    whole = torch.cat([ids, torch.tensor([answer])], dim=1)
    with torch.inference_mode():
        logits = gen.model(input_ids=whole).logits[0, ids.shape[1] - 1: -1]
    return torch.log_softmax(logits.float(), dim=-1).tolist()  # type: ignore[no-any-return]


def test_logprobs_are_the_models_own_and_greedy_picks_the_best(tiny: LlmGenerator) -> None:
    """Sampling at temperature 0.7 with a repetition penalty: the reported numbers are the model's distribution
    before either, as one teacher-forced pass computes it; the alternatives are its best, in order."""
    import torch

    from latentstack_llm.decoding import decode_tokens, eos_ids

    options = GenerationConfig(max_new_tokens=24, temperature=0.7, seed=3, repetition_penalty=1.3)
    pieces = list(tiny.stream_scored("the cat sat on the mat", options, top_logprobs=4))
    with torch.inference_mode():
        ids = list(decode_tokens(tiny.model, tiny.prompt_ids("the cat sat on the mat"), options,
                                 stop_ids=eos_ids(tiny.model, tiny.tokenizer)))
    tokens = [t for p in pieces for t in p.tokens]
    assert len(tokens) == len(ids) > 5
    for token, row, picked in zip(tokens, _forced(tiny, "the cat sat on the mat", ids), ids, strict=True):
        assert token.logprob == pytest.approx(row[picked], abs=1e-4)
        best = sorted(range(len(row)), key=row.__getitem__, reverse=True)[:4]
        assert [a.logprob for a in token.top] == pytest.approx([row[i] for i in best], abs=1e-4)
        assert token.top[0].logprob >= token.top[-1].logprob
    assert "".join(p.text for p in pieces) == tiny.generate("the cat sat on the mat", options)
    greedy = [t for p in tiny.stream_scored("the cat sat", GenerationConfig(max_new_tokens=12), 2) for t in p.tokens]
    assert all(t.top[0].token == t.token and t.top[0].logprob == t.logprob for t in greedy)


def test_the_tokens_bytes_spell_the_answer_and_a_stop_string_is_never_scored(tiny: LlmGenerator) -> None:
    """The random model writes any bytes and special tokens; the scored tokens' bytes, joined without the special
    tokens (which the text leaves out), read as the answer (a token with half a character included). With a stop
    string, the scored tokens spell no more than the shown text."""
    special = set(tiny.tokenizer.all_special_tokens)

    def spelt(pieces: list[ScoredPiece]) -> str:
        joined = b"".join(bytes(t.utf8 or b"") for p in pieces for t in p.tokens if t.token not in special)
        return joined.decode("utf-8", "replace")

    options = GenerationConfig(max_new_tokens=40, seed=1, temperature=1.0)
    pieces = list(tiny.stream_scored("héllo wörld", options))
    text = "".join(p.text for p in pieces)
    assert spelt(pieces) == text and all(not t.top for p in pieces for t in p.tokens)
    stop = text[len(text) // 2: len(text) // 2 + 3]
    assert stop.strip()
    cut = list(tiny.stream_scored("héllo wörld", attrs_evolve(options, stop)))
    shown = "".join(p.text for p in cut)
    assert shown == text[: text.index(stop)]
    scored = spelt(cut)
    assert shown.startswith(scored) and len(scored) >= len(shown) - 8


def attrs_evolve(options: GenerationConfig, stop: str) -> GenerationConfig:
    import attrs

    return attrs.evolve(options, stop=(stop,))


def test_top_logprobs_out_of_range_is_one_line(tiny: LlmGenerator) -> None:
    for bad in (21, -1, True, 2.0):
        with pytest.raises(InputError, match="top_logprobs is a whole number from 0 to 20"):
            tiny.stream_scored("hi", None, bad)  # type: ignore[arg-type]


def test_a_generator_that_cannot_score_says_which_can() -> None:
    from latentstack.interfaces import Generator

    class Echo(Generator):
        name = "echo"

        def stream(self, prompt, options=None):  # type: ignore[no-untyped-def]
            yield str(prompt)

    with pytest.raises(ConfigError, match="generator 'echo' gives no log-probabilities; use one that does"):
        Echo.from_options().stream_scored("hi")


@pytest.mark.slow
def test_smollm2_scores_a_real_answer() -> None:
    """SmolLM2's byte-level tokens: ' Paris' with its leading space, bytes that spell the answer."""
    gen = LlmGenerator.from_options()
    pieces = list(gen.stream_scored("What is the capital of France? Answer in one word.",
                                    GenerationConfig(max_new_tokens=8), 3))
    tokens = [t for p in pieces for t in p.tokens]
    assert b"".join(bytes(t.utf8 or b"") for t in tokens).decode() == "".join(p.text for p in pieces)
    assert any(t.token.strip() == "Paris" and t.logprob > -1.0 for t in tokens)
    assert all(len(t.top) == 3 and t.top[0].token == t.token for t in tokens)
