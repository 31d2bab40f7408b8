"""Prompt lookup decoding: tokens that followed the answer's last words earlier are checked a forward pass, and the
answer is the greedy one, token for token, with the same log-probabilities to rounding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from latentstack.interfaces import GenerationConfig
from latentstack.testing.kept_prefix_checks import (
    assert_same_answers,
    chat_turns,
    check_a_stream_closed_early,
    scored_answer,
)
from latentstack_llm.generator import LlmGenerator

#: A prompt whose words repeat, so that proposals are found (and the random tiny model's answers loop over them).
REPEATING = "the cat sat on the mat and the cat sat on the hat and the dog sat on the log " * 3
#: Line breaks followed by other words: the tiny model answers line breaks, so the first proposals (the words after
#: the prompt's line breaks) are refused and their positions cut from the KV cache.
BREAKS = "a\n\n\nb c\n\n\nd e\n\n\n\n\nf"


def _greedy(gen: LlmGenerator, prompt: Any, new: int = 24, **options: Any) -> tuple[str, list[float], Any]:
    pieces = list(gen.stream_answer(prompt, GenerationConfig(max_new_tokens=new, **options), top_logprobs=0))
    return "".join(p.text for p in pieces), [t.logprob for p in pieces for t in p.tokens], pieces[-1].finish


@pytest.mark.parametrize("options", [{}, {"repetition_penalty": 1.3}, {"stop": ["sat"]}])
def test_the_answer_is_the_greedy_one_token_for_token(tiny_llama_dir: Path, options: dict[str, Any]) -> None:
    lookup = LlmGenerator.from_options(model=str(tiny_llama_dir), prompt_lookup=6, prefix_cache=0)
    plain = LlmGenerator.from_options(model=str(tiny_llama_dir), prefix_cache=0, prompt_lookup=0)
    for prompt in (REPEATING, BREAKS, "a b c d e f g a b c d e f g a b c", "hello"):
        text, logprobs, finish = _greedy(lookup, prompt, **options)
        text_plain, logprobs_plain, finish_plain = _greedy(plain, prompt, **options)
        assert (text, finish.tokens, finish.reason) == (text_plain, finish_plain.tokens, finish_plain.reason)
        assert logprobs == pytest.approx(logprobs_plain, abs=1e-4)


def test_proposals_are_taken_and_the_passes_are_fewer(tiny_llama_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import latentstack.prompt_lookup as lookup_module

    passes: list[int] = []
    checked = lookup_module._checked
    monkeypatch.setattr(lookup_module, "_checked", lambda *a: passes.append(1) or checked(*a))
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir), prompt_lookup=6, prefix_cache=0)
    _, _, finish = _greedy(gen, REPEATING, new=40)
    assert finish.tokens == 40 and 1 < len(passes) < 20  # the prompt's pass, then several tokens a pass


def test_max_new_tokens_is_kept_exactly_and_sampling_reads_a_token_a_pass(tiny_llama_dir: Path) -> None:
    lookup = LlmGenerator.from_options(model=str(tiny_llama_dir), prompt_lookup=8, prefix_cache=0)
    plain = LlmGenerator.from_options(model=str(tiny_llama_dir), prefix_cache=0, prompt_lookup=0)
    for new in (1, 2, 5, 9):
        assert _greedy(lookup, REPEATING, new)[2].tokens == new
    sampled = {"temperature": 0.9, "seed": 3}
    assert _greedy(lookup, REPEATING, 16, **sampled)[0] == _greedy(plain, REPEATING, 16, **sampled)[0]


def test_a_kept_cache_stays_whole_through_chats_and_closed_streams(tiny_llama_dir: Path) -> None:
    """The positions of proposals not taken are cut from the cache a later turn reads on from."""
    for opening in (REPEATING, BREAKS):
        kept = chat_turns(LlmGenerator.from_options(model=str(tiny_llama_dir), prompt_lookup=6), opening)
        fresh = chat_turns(LlmGenerator.from_options(model=str(tiny_llama_dir), prefix_cache=0, prompt_lookup=0),
                           opening)
        assert all(f.cached > 20 for _, _, f in kept[1:])
        assert_same_answers(kept, fresh)
    check_a_stream_closed_early(LlmGenerator.from_options(model=str(tiny_llama_dir), prompt_lookup=6),
                                LlmGenerator.from_options(model=str(tiny_llama_dir), prefix_cache=0, prompt_lookup=0))


def test_a_sliding_window_model_reads_a_token_a_pass(tiny_gemma2_dir: Path) -> None:
    gemma = LlmGenerator.from_options(model=str(tiny_gemma2_dir), prompt_lookup=6)
    plain = LlmGenerator.from_options(model=str(tiny_gemma2_dir), prefix_cache=0, prompt_lookup=0)
    assert scored_answer(gemma, [{"role": "user", "content": REPEATING}])[0] == \
        scored_answer(plain, [{"role": "user", "content": REPEATING}])[0]


def test_an_answer_held_to_a_schema_is_the_greedy_one_within_it(tiny_llama_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The schema's mask and progress go token by token through the proposals taken, and stop at the refused."""
    import latentstack.prompt_lookup as lookup_module

    passes: list[int] = []
    checked = lookup_module._checked
    monkeypatch.setattr(lookup_module, "_checked", lambda *a: passes.append(1) or checked(*a))
    lookup = LlmGenerator.from_options(model=str(tiny_llama_dir), prompt_lookup=6, prefix_cache=0)
    plain = LlmGenerator.from_options(model=str(tiny_llama_dir), prefix_cache=0, prompt_lookup=0)
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "array", "items": {
        "type": "string", "enum": ["the cat", "the dog sat"]}}}, "required": ["a", "b"]}
    tokens = 0
    for prompt in (REPEATING, BREAKS, '{"a": "", "b": ["the dog sat", "the cat"]} ' * 3):
        for penalty in (1.0, 1.3):
            options = {"json_schema": schema, "repetition_penalty": penalty}
            text, logprobs, finish = _greedy(lookup, prompt, 60, **options)
            text_plain, logprobs_plain, finish_plain = _greedy(plain, prompt, 60, **options)
            assert (text, finish.reason) == (text_plain, finish_plain.reason) and text.startswith('{"a": "')
            assert logprobs == pytest.approx(logprobs_plain, abs=1e-4)
            tokens += finish.tokens
    assert 6 < len(passes) < tokens - 20  # through prompt lookup, proposals taken (a pass each answer's prompt)


@pytest.mark.parametrize("value", [-1, "many", True])
def test_prompt_lookup_is_a_whole_number_of_tokens(tiny_llama_dir: Path, value: object) -> None:
    from latentstack.errors import ConfigError

    with pytest.raises(ConfigError, match="prompt_lookup"):
        LlmGenerator.from_options(model=str(tiny_llama_dir), prompt_lookup=value)
