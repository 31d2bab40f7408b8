"""Checks for a generator that keeps its last answers' KV caches (``latentstack.kept_prefix``): it must answer as a
generator that reads every prompt whole, and say how many prompt tokens it did not read again."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from latentstack.interfaces import GenerationConfig

if TYPE_CHECKING:
    from latentstack.interfaces import Generator
    from latentstack.interfaces.generator import Finish

#: An answer's text, its tokens' log-probabilities and how it ended (``Finish.cached``: prompt tokens kept).
ScoredAnswer = tuple[str, list[float], "Finish"]


def scored_answer(gen: Generator, messages: list[dict[str, str]], new: int = 10) -> ScoredAnswer:
    """``gen``'s greedy answer to ``messages`` in at most ``new`` tokens, scored."""
    pieces = list(gen.stream_answer(messages, GenerationConfig(max_new_tokens=new), top_logprobs=0))
    finish = pieces[-1].finish
    assert finish is not None
    return "".join(p.text for p in pieces), [t.logprob for p in pieces for t in p.tokens], finish


def chat_turns(gen: Generator, opening: str, turns: int = 3) -> list[ScoredAnswer]:
    """A chat of ``turns`` turns, each sent with the whole conversation before it, as chat clients send it."""
    messages = [{"role": "user", "content": opening}]
    answers = []
    for turn in range(turns):
        answers.append(scored_answer(gen, messages))
        messages = [*messages, {"role": "assistant", "content": answers[-1][0]},
                    {"role": "user", "content": f"and then, {turn}?"}]
    return answers


def assert_same_answers(kept: list[ScoredAnswer], fresh: list[ScoredAnswer]) -> None:
    """The same texts, and log-probabilities equal to rounding (keys read in other passes round otherwise)."""
    assert [text for text, _, _ in kept] == [text for text, _, _ in fresh]
    for (_, logprobs, _), (_, logprobs_fresh, _) in zip(kept, fresh, strict=True):
        assert logprobs == pytest.approx(logprobs_fresh, abs=1e-4)


def check_a_stream_closed_early(gen: Generator, fresh: Generator) -> None:
    """A stream closed at its first piece leaves ``gen`` a cache (whole: closed between tokens) that the same prompt
    then uses, answering as ``fresh`` (which keeps none) does."""
    messages = [{"role": "user", "content": "count the stars in the sky " * 3}]
    stream = gen.stream_answer(messages, GenerationConfig(max_new_tokens=30))
    next(stream)
    stream.close()  # type: ignore[attr-defined]
    again = scored_answer(gen, messages)
    assert again[2].cached > 0
    assert_same_answers([again], [scored_answer(fresh, messages)])
