"""The onnx generator keeps the last answer's GenAI generator: a prompt that begins as the last prompt and answer
did is read on from the shared tokens (GenAI's rewind_to), and answers as a generator that reads it all does."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentstack.testing.kept_prefix_checks import assert_same_answers, chat_turns, check_a_stream_closed_early
from latentstack.testing.kept_prefix_checks import scored_answer as _answer
from latentstack_onnx.generator import GenaiGenerator

OPENING = "the cat sat on the mat and looked at the dog " * 3


def test_a_chats_next_turn_is_read_on_from_the_kept_generator(tiny_export: Path) -> None:
    kept = chat_turns(GenaiGenerator.from_options(model=str(tiny_export)), OPENING)
    fresh = chat_turns(GenaiGenerator.from_options(model=str(tiny_export), prefix_cache=0), OPENING)
    assert [f.cached for _, _, f in fresh] == [0, 0, 0]
    assert kept[0][2].cached == 0 and all(f.cached > 30 for _, _, f in kept[1:])
    assert_same_answers(kept, fresh)


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
    check_a_stream_closed_early(GenaiGenerator.from_options(model=str(tiny_export)),
                                GenaiGenerator.from_options(model=str(tiny_export), prefix_cache=0))


def test_a_kept_generator_weighs_its_whole_kv_buffer_and_the_budget_drops_the_others(tiny_export: Path) -> None:
    import json

    from latentstack_onnx.kept_generator import kv_bytes_per_token

    decoder = json.loads((tiny_export / "genai_config.json").read_text())["model"]["decoder"]
    per_token = kv_bytes_per_token(tiny_export)
    assert per_token == decoder["num_hidden_layers"] * 2 * decoder["num_key_value_heads"] * decoder["head_size"] * 4
    gen = GenaiGenerator.from_options(model=str(tiny_export), prefix_cache=2, prefix_cache_mb=0)
    chats = [[{"role": "user", "content": f"{topic} " * 20}] for topic in ("the cat sat on the mat", "rivers run")]
    answers = [_answer(gen, chat, new=4)[0] for chat in chats]
    need = gen.count_prompt_tokens(chats[1]) + 4
    assert gen.kept.held_bytes == 2 * need * per_token  # the last answer's alone, its room twice what it needed
    turns = [[*chat, {"role": "assistant", "content": a}, {"role": "user", "content": "more?"}]
             for chat, a in zip(chats, answers, strict=True)]
    assert _answer(gen, turns[0], new=4)[2].cached == 0
    assert _answer(gen, turns[0], new=4)[2].cached > 40
