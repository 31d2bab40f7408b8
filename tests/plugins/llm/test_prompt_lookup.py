"""Prompt lookup decoding in the llm generator: tokens that followed the answer's last words earlier are checked a
forward pass, and the answer is the greedy one, token for token, with the same log-probabilities to rounding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from latentstack.testing.kept_prefix_checks import (
    assert_same_answers,
    chat_turns,
    check_a_stream_closed_early,
    scored_answer,
)
from latentstack.testing.prompt_lookup_checks import (
    BREAKS,
    JSONISH,
    REPEATING,
    SCHEMA,
    assert_answers_as_plain,
    counted_passes,
    greedy,
)
from latentstack_llm.generator import LlmGenerator


def _pair(folder: Path, draft: int = 6) -> tuple[LlmGenerator, LlmGenerator]:
    """A generator that looks up ``draft`` tokens, and one that reads a token a pass; neither keeps a cache."""
    return (LlmGenerator.from_options(model=str(folder), prompt_lookup=draft, prefix_cache=0),
            LlmGenerator.from_options(model=str(folder), prompt_lookup=0, prefix_cache=0))


@pytest.mark.parametrize("options", [{}, {"repetition_penalty": 1.3}, {"stop": ["sat"]},
                                     {"frequency_penalty": 0.6, "presence_penalty": 0.3, "logit_bias": {40: 3}}])
def test_the_answer_is_the_greedy_one_token_for_token(tiny_llama_dir: Path, options: dict[str, Any]) -> None:
    prompts = (REPEATING, BREAKS, "a b c d e f g a b c d e f g a b c", "hello")
    assert_answers_as_plain(*_pair(tiny_llama_dir), prompts, 24, **options)


def test_proposals_are_taken_and_the_passes_are_fewer(tiny_llama_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    passes = counted_passes(monkeypatch)
    _, _, finish = greedy(_pair(tiny_llama_dir)[0], REPEATING, new=40)
    assert finish.tokens == 40 and 1 < len(passes) < 20  # the prompt's pass, then several tokens a pass


def test_max_new_tokens_is_kept_exactly(tiny_llama_dir: Path) -> None:
    lookup, _ = _pair(tiny_llama_dir, draft=8)
    for new in (1, 2, 5, 9):
        assert greedy(lookup, REPEATING, new)[2].tokens == new
        assert greedy(lookup, REPEATING, new, temperature=0.9, seed=3)[2].tokens == new


@pytest.mark.parametrize("options", [{"temperature": 0.05, "seed": 3},
                                     {"temperature": 0.1, "top_p": 0.9, "seed": 1, "repetition_penalty": 1.05},
                                     {"temperature": 0.1, "seed": 2, "json_schema": SCHEMA},
                                     {"temperature": 0.2, "top_k": 3, "min_p": 0.3, "seed": 4}])
def test_a_seeded_sample_is_the_one_a_token_a_pass_draws(tiny_llama_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                         options: dict[str, Any]) -> None:
    """Each row's token sampled and compared with the proposal: one draw a token taken, as a token a pass draws."""
    passes = counted_passes(monkeypatch)
    tokens = assert_answers_as_plain(*_pair(tiny_llama_dir), (REPEATING, BREAKS, JSONISH), 40, **options)
    assert len(passes) < tokens - 10  # proposals were taken


def test_a_kept_cache_stays_whole_through_chats_and_closed_streams(tiny_llama_dir: Path) -> None:
    """The positions of proposals not taken are cut from the cache a later turn reads on from."""
    for opening in (REPEATING, BREAKS):
        kept = chat_turns(LlmGenerator.from_options(model=str(tiny_llama_dir), prompt_lookup=6), opening)
        fresh = chat_turns(_pair(tiny_llama_dir)[1], opening)
        assert all(f.cached > 20 for _, _, f in kept[1:])
        assert_same_answers(kept, fresh)
    check_a_stream_closed_early(LlmGenerator.from_options(model=str(tiny_llama_dir), prompt_lookup=6),
                                _pair(tiny_llama_dir)[1])


def test_a_sliding_window_model_reads_a_token_a_pass(tiny_gemma2_dir: Path) -> None:
    gemma, plain = LlmGenerator.from_options(model=str(tiny_gemma2_dir), prompt_lookup=6), _pair(tiny_gemma2_dir)[1]
    messages = [{"role": "user", "content": REPEATING}]
    assert scored_answer(gemma, messages)[0] == scored_answer(plain, messages)[0]


def test_an_answer_held_to_a_schema_is_the_greedy_one_within_it(tiny_llama_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The schema's mask and progress go token by token through the proposals taken, and stop at the refused."""
    passes = counted_passes(monkeypatch)
    tokens = sum(assert_answers_as_plain(*_pair(tiny_llama_dir), (REPEATING, BREAKS, JSONISH), 60,
                                         json_schema=SCHEMA, repetition_penalty=penalty) for penalty in (1.0, 1.3))
    assert 6 < len(passes) < tokens - 20  # through prompt lookup, proposals taken (a pass each answer's prompt)


@pytest.mark.parametrize("value", [-1, "many", True])
def test_prompt_lookup_is_a_whole_number_of_tokens(tiny_llama_dir: Path, value: object) -> None:
    from latentstack.errors import ConfigError

    with pytest.raises(ConfigError, match="prompt_lookup'? (is how many tokens found earlier|takes a whole number)"):
        LlmGenerator.from_options(model=str(tiny_llama_dir), prompt_lookup=value)
