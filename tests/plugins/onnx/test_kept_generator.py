"""The onnx generator keeps the last answer's GenAI generator: a prompt that begins as the last prompt and answer
did is read on from the shared tokens (GenAI's rewind_to), and answers as a generator that reads it all does."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentstack.interfaces import GenerationConfig
from latentstack.interfaces.generator import Finish
from latentstack_onnx.generator import GenaiGenerator


def _answer(gen: GenaiGenerator, messages: list[dict[str, str]], new: int = 10) -> tuple[str, list[float], Finish]:
    pieces = list(gen.stream_answer(messages, GenerationConfig(max_new_tokens=new), top_logprobs=0))
    finish = pieces[-1].finish
    assert finish is not None
    return "".join(p.text for p in pieces), [t.logprob for p in pieces for t in p.tokens], finish


def _turns(gen: GenaiGenerator) -> list[tuple[str, list[float], Finish]]:
    messages = [{"role": "user", "content": "the cat sat on the mat and looked at the dog " * 3}]
    answers = []
    for turn in range(3):
        answers.append(_answer(gen, messages))
        messages = [*messages, {"role": "assistant", "content": answers[-1][0]},
                    {"role": "user", "content": f"and then, {turn}?"}]
    return answers


def test_a_chats_next_turn_is_read_on_from_the_kept_generator(tiny_export: Path) -> None:
    kept = _turns(GenaiGenerator.from_options(model=str(tiny_export)))
    fresh = _turns(GenaiGenerator.from_options(model=str(tiny_export), prefix_cache=0))
    assert [f.cached for _, _, f in fresh] == [0, 0, 0]
    assert kept[0][2].cached == 0 and all(f.cached > 30 for _, _, f in kept[1:])
    for (text, logprobs, _), (text_fresh, logprobs_fresh, _) in zip(kept, fresh, strict=True):
        assert text == text_fresh
        assert logprobs == pytest.approx(logprobs_fresh, abs=1e-4)


def test_a_prompt_past_the_kept_generators_room_gets_a_new_one(tiny_export: Path) -> None:
    gen = GenaiGenerator.from_options(model=str(tiny_export))
    short = [{"role": "user", "content": "hello there"}]
    _answer(gen, short, new=2)  # room for twice its prompt and answer
    longer = [{"role": "user", "content": "hello there " + "and more words " * 40}]
    text, logprobs, finish = _answer(gen, longer)
    assert finish.cached == 0
    fresh = _answer(GenaiGenerator.from_options(model=str(tiny_export), prefix_cache=0), longer)
    assert text == fresh[0] and logprobs == pytest.approx(fresh[1], abs=1e-4)
    again = _answer(gen, longer)  # the new one was kept: all but the token answered from
    assert again[2].cached == gen.count_prompt_tokens(longer) - 1 and again[0] == text
    assert again[1] == pytest.approx(fresh[1], abs=1e-4)


def test_a_stream_closed_early_leaves_a_generator_the_next_answer_can_use(tiny_export: Path) -> None:
    gen = GenaiGenerator.from_options(model=str(tiny_export))
    messages = [{"role": "user", "content": "count the stars in the sky " * 3}]
    stream = gen.stream_answer(messages, GenerationConfig(max_new_tokens=30))
    next(stream)
    stream.close()
    again = _answer(gen, messages)
    fresh = _answer(GenaiGenerator.from_options(model=str(tiny_export), prefix_cache=0), messages)
    assert again[2].cached > 0 and again[0] == fresh[0]
    assert again[1] == pytest.approx(fresh[1], abs=1e-4)
