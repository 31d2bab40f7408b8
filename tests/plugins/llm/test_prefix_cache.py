"""The llm generator keeps the last answer's KV cache: a prompt that begins as the last prompt and answer did reads
only its new tokens, and answers as a generator that reads it all does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from latentstack.kept_prefix import shared_length
from latentstack.testing.kept_prefix_checks import (
    ScoredAnswer,
    assert_same_answers,
    chat_turns,
    check_a_stream_closed_early,
    scored_answer,
)
from latentstack_llm.generator import LlmGenerator
from latentstack_llm.prefix_cache import PrefixCache
from latentstack_llm.sft import SftConfig, train_sft

OPENING = "the cat sat on the mat and looked at the dog " * 4


def _answer(gen: LlmGenerator, messages: list[dict[str, str]]) -> ScoredAnswer:
    return scored_answer(gen, messages, 12)


def test_a_chats_next_turn_reads_only_its_new_tokens_and_answers_the_same(tiny_llama_dir: Path) -> None:
    kept = chat_turns(LlmGenerator.from_options(model=str(tiny_llama_dir)), OPENING)
    fresh = chat_turns(LlmGenerator.from_options(model=str(tiny_llama_dir), prefix_cache=0), OPENING)
    assert [f.cached for _, _, f in fresh] == [0, 0, 0]
    assert kept[0][2].cached == 0
    assert all(f.cached > 40 for _, _, f in kept[1:])  # the first message at least
    assert_same_answers(kept, fresh)


def test_the_kept_cache_reaches_exactly_as_far_as_the_prompts_agree(tiny_llama_dir: Path) -> None:
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    first = [{"role": "user", "content": "tell me about the cat on the mat"}]
    second = [{"role": "user", "content": "tell me about the dog on the mat"}]
    _answer(gen, first)
    ids_first, ids_second = (gen.prompt_ids(m)[0].tolist() for m in (first, second))
    text, logprobs, finish = _answer(gen, second)
    assert 0 < finish.cached == shared_length(ids_first, ids_second) < len(ids_second)
    text_fresh, logprobs_fresh, _ = _answer(LlmGenerator.from_options(model=str(tiny_llama_dir), prefix_cache=0),
                                            second)
    assert text == text_fresh
    assert logprobs == pytest.approx(logprobs_fresh, abs=1e-4)
    assert _answer(gen, second)[2].cached == len(ids_second) - 1  # asked again: all but the token answered from


def test_a_stream_closed_early_leaves_a_cache_the_next_answer_can_use(tiny_llama_dir: Path) -> None:
    check_a_stream_closed_early(LlmGenerator.from_options(model=str(tiny_llama_dir)),
                                LlmGenerator.from_options(model=str(tiny_llama_dir), prefix_cache=0))


def test_a_sliding_window_model_reads_every_prompt_whole(tiny_gemma2_dir: Path) -> None:
    gen = LlmGenerator.from_options(model=str(tiny_gemma2_dir))
    messages = [{"role": "user", "content": "the cat sat on the mat"}]
    assert [_answer(gen, messages)[2].cached for _ in range(2)] == [0, 0]


def test_training_the_model_in_place_forgets_the_cache(tiny_llama_dir: Path, tmp_path: Path) -> None:
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    messages = [{"role": "user", "content": "say something about the weather"}]
    _answer(gen, messages)
    examples = [[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "zebra zebra"}]] * 4
    train_sft(gen, examples, tmp_path / "adapter", SftConfig(mode="full", epochs=1, lr=1e-2, batch_size=2,
                                                             grad_accum=1), max_steps=2)
    text, logprobs, finish = _answer(gen, messages)
    assert finish.cached == 0
    assert _answer(gen, messages)[2].cached > 0  # and keeps the trained model's from then on


def test_the_cache_of_other_weights_is_not_used() -> None:
    from transformers import DynamicCache, LlamaConfig

    config = LlamaConfig(num_hidden_layers=1, hidden_size=8, num_attention_heads=1, num_key_value_heads=1)
    slot = PrefixCache()
    cache, n = slot.take_cache("", [1, 2, 3], config)
    assert n == 0
    slot.keep_cache("", [1, 2, 3], cache)  # an empty cache holds none of them
    assert slot.take_cache("", [1, 2, 3], config)[1] == 0
    slot.keep_cache("adapter-a", [1, 2, 3], _filled(DynamicCache(config=config), 3))
    assert slot.take_cache("adapter-b", [1, 2, 3, 4], config)[1] == 0  # other weights computed it
    slot.keep_cache("adapter-a", [1, 2, 3], _filled(DynamicCache(config=config), 3))
    cache, n = slot.take_cache("adapter-a", [1, 2, 9], config)
    assert (n, cache.get_seq_length()) == (2, 2)
    assert slot.take_cache("adapter-a", [1, 2, 9], config)[1] == 0  # taken: two answers never share it
    slot.keep_cache("adapter-a", [1, 2, 3], _filled(DynamicCache(config=config), 3))
    assert slot.take_cache("adapter-a", [1, 2, *range(10, 20)], config)[1] == 0  # too little shared to be worth it


def _filled(cache: Any, n: int) -> Any:
    import torch

    cache.update(torch.zeros(1, 1, n, 8), torch.zeros(1, 1, n, 8), 0)
    return cache


def test_with_two_kept_caches_two_interleaved_chats_each_read_only_their_new_tokens(tiny_llama_dir: Path) -> None:
    """A server's two users take turns: one kept cache holds the other chat's when a turn comes; two hold both."""
    chats = [[{"role": "user", "content": f"{topic} " * 30}] for topic in ("the cat sat on the mat", "rivers run")]

    def interleaved(gen: LlmGenerator) -> list[ScoredAnswer]:
        got = []
        for _ in range(2):
            for i, chat in enumerate(chats):
                got.append(_answer(gen, chat))
                chats[i] = [*chat, {"role": "assistant", "content": got[-1][0]}, {"role": "user", "content": "more?"}]
        return got

    start = [list(c) for c in chats]
    two = interleaved(LlmGenerator.from_options(model=str(tiny_llama_dir), prefix_cache=2))
    chats[:] = [list(c) for c in start]
    one = interleaved(LlmGenerator.from_options(model=str(tiny_llama_dir)))
    chats[:] = [list(c) for c in start]
    fresh = interleaved(LlmGenerator.from_options(model=str(tiny_llama_dir), prefix_cache=0))
    assert [f.cached for _, _, f in two][2:] > [60, 60] and [f.cached for _, _, f in one] == [0, 0, 0, 0]
    assert_same_answers(two, fresh)
    assert_same_answers(one, fresh)


def test_the_kept_cache_that_shares_most_is_used_and_the_oldest_goes_first() -> None:
    from transformers import DynamicCache, LlamaConfig

    config = LlamaConfig(num_hidden_layers=1, hidden_size=8, num_attention_heads=1, num_key_value_heads=1)
    slots = PrefixCache(2)
    slots.keep_cache("", [1, 2, 3, 4], _filled(DynamicCache(config=config), 4))
    slots.keep_cache("", [1, 2, 7, 8], _filled(DynamicCache(config=config), 4))
    slots.keep_cache("", [5, 6, 7, 8], _filled(DynamicCache(config=config), 4))  # [1, 2, 3, 4]'s went
    assert slots.take_cache("", [1, 2, 3, 4, 9], config)[1] == 2  # [1, 2, 7, 8]'s: the other holds none of it
    assert slots.take_cache("", [5, 6, 7, 9], config)[1] == 3
    slots = PrefixCache(3)
    for held in ([1, 2, 3, 8], [1, 2, 7, 8], [1, 5, 7, 8]):
        slots.keep_cache("", held, _filled(DynamicCache(config=config), 4))
    assert slots.take_cache("", [1, 2, 3, 4, 9], config)[1] == 3  # not the most recent: the one sharing most


def test_a_kept_cache_weighs_its_whole_storage_and_the_budget_drops_the_others(tiny_llama_dir: Path) -> None:
    from transformers import DynamicCache, LlamaConfig

    config = LlamaConfig(num_hidden_layers=2, hidden_size=8, num_attention_heads=1, num_key_value_heads=1)
    slots = PrefixCache(2)
    cache = _filled(DynamicCache(config=config), 5)
    assert slots.size(cache) == 5 * 8 * 4 * 2  # keys and values of 5 tokens, 8 floats each, one layer filled
    slots.keep_cache("", [1, 2, 3, 4, 5], cache)
    cache, n = slots.take_cache("", [1, 2, 3, 9], config)
    assert (n, cache.get_seq_length(), slots.size(cache)) == (3, 3, 5 * 8 * 4 * 2)  # a cropped view holds it all
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir), prefix_cache=2, prefix_cache_mb=0)
    chats = [[{"role": "user", "content": f"{topic} " * 30}] for topic in ("the cat sat on the mat", "rivers run")]
    answers = [_answer(gen, chat)[0] for chat in chats]
    turns = [[*chat, {"role": "assistant", "content": a}, {"role": "user", "content": "more?"}]
             for chat, a in zip(chats, answers, strict=True)]
    assert _answer(gen, turns[0])[2].cached == 0  # the second chat's cache was the last answer's: the first's went
    assert _answer(gen, turns[0])[2].cached > 60


@pytest.mark.parametrize(("value", "said"), [(-1, "is how many answers' KV caches are kept"),
                                             ("two", "takes a whole number"), (True, "takes a whole number")])
def test_prefix_cache_is_a_whole_number_of_kept_caches(tiny_llama_dir: Path, value: object, said: str) -> None:
    from latentstack.errors import ConfigError

    with pytest.raises(ConfigError, match=said):
        LlmGenerator.from_options(model=str(tiny_llama_dir), prefix_cache=value)
    assert LlmGenerator.from_options(model=str(tiny_llama_dir), prefix_cache="3").config.prefix_cache == 3
