"""The decode loop against plain ``model.generate``, and incremental detokenisation, on a tiny random Llama."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentstack.interfaces import GenerationConfig
from latentstack_llm.decoding import IncrementalText, decode_tokens, eos_ids, pick
from latentstack_llm.generator import LlmGenerator


@pytest.fixture(scope="module")
def tiny(tiny_llama_dir: Path) -> LlmGenerator:
    return LlmGenerator.from_options(model=str(tiny_llama_dir))


def test_greedy_loop_picks_the_same_tokens_as_generate(tiny: LlmGenerator) -> None:
    import torch

    ids = tiny.prompt_ids("the cat sat on the mat")
    with torch.inference_mode():
        ours = list(decode_tokens(tiny.model, ids, GenerationConfig(max_new_tokens=40), stop_ids=set()))
        plain = tiny.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=40,
                                    min_new_tokens=40, do_sample=False, pad_token_id=tiny.tokenizer.pad_token_id)
    assert len(ours) == 40
    assert ours == plain[0, ids.shape[1]:].tolist()


def test_repetition_penalty_picks_the_same_tokens_as_generate(tiny: LlmGenerator) -> None:
    import torch

    ids = tiny.prompt_ids("the cat sat on the mat")
    with torch.inference_mode():
        free = list(decode_tokens(tiny.model, ids, GenerationConfig(max_new_tokens=40), stop_ids=set()))
        penalized = GenerationConfig(max_new_tokens=40, repetition_penalty=5.0)
        ours = list(decode_tokens(tiny.model, ids, penalized, stop_ids=set()))
        plain = tiny.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=40,
                                    min_new_tokens=40, do_sample=False, repetition_penalty=5.0,
                                    pad_token_id=tiny.tokenizer.pad_token_id)
    assert ours == plain[0, ids.shape[1]:].tolist()
    assert ours != free  # the penalty changed the answer, so the comparison above tested something
    assert len(set(ours)) > len(set(free))  # and it repeats itself less


def test_loop_stops_at_an_end_token_without_yielding_it(tiny: LlmGenerator) -> None:
    import torch

    ids = tiny.prompt_ids("hello")
    with torch.inference_mode():
        free = list(decode_tokens(tiny.model, ids, GenerationConfig(max_new_tokens=20), stop_ids=set()))
        stopped = list(decode_tokens(tiny.model, ids, GenerationConfig(max_new_tokens=20), stop_ids={free[3]}))
    assert stopped == free[: free.index(free[3])]
    assert eos_ids(tiny.model, tiny.tokenizer) >= {tiny.tokenizer.eos_token_id}


def test_nucleus_sampling_keeps_only_the_top_mass() -> None:
    import torch

    logits = torch.log(torch.tensor([0.7, 0.2, 0.06, 0.04]))
    rng = torch.Generator().manual_seed(0)
    assert {pick(logits, 1.0, 0.75, rng) for _ in range(300)} == {0, 1}
    assert {pick(logits, 1.0, 0.5, rng) for _ in range(50)} == {0}
    assert len({pick(logits, 1.0, 1.0, rng) for _ in range(300)}) == 4
    assert pick(logits, 0.0, 0.1, rng) == 0


def test_top_k_and_min_p_keep_only_the_likeliest() -> None:
    """top_k the K likeliest, min_p those at least that share as likely as the likeliest; with top_p, the smaller."""
    import torch

    logits = torch.log(torch.tensor([0.05, 0.5, 0.3, 0.1, 0.05]))
    rng = torch.Generator().manual_seed(0)
    assert {pick(logits, 1.0, 1.0, rng, top_k=2) for _ in range(300)} == {1, 2}
    assert {pick(logits, 1.0, 1.0, rng, top_k=3) for _ in range(300)} == {1, 2, 3}
    assert {pick(logits, 1.0, 1.0, rng, min_p=0.5) for _ in range(300)} == {1, 2}  # 0.3 >= 0.5 * 0.5; 0.1 is not
    assert {pick(logits, 1.0, 0.75, rng, top_k=3) for _ in range(300)} == {1, 2}  # top_p's nucleus is smaller
    assert {pick(logits, 1.0, 1.0, rng, top_k=1) for _ in range(50)} == {pick(logits, 1.0, 1.0, rng, min_p=1.0)
                                                                          for _ in range(50)} == {1}


def test_incremental_text_never_shows_half_a_character(tiny: LlmGenerator) -> None:
    text = "café ☕ naïve 東京 the cat"
    tokens = tiny.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(tokens) > len(text.split())  # byte-level pieces: characters split across tokens
    stream = IncrementalText(tiny.tokenizer)
    pieces = [stream.feed(t) for t in tokens] + [stream.flush()]
    assert "".join(pieces) == tiny.tokenizer.decode(tokens) == text
    assert not any("\ufffd" in p for p in pieces)


def test_openai_penalties_and_bias_pick_as_their_rule_says(tiny: LlmGenerator) -> None:
    """frequency_penalty per time a token was written, presence_penalty once, logit_bias as given: the loop's
    tokens are those of the rule applied to the model's logits over the whole sequence each step."""
    import torch

    from latentstack_llm.decoding import decode_steps

    ids = tiny.prompt_ids("the cat sat on the mat")
    with torch.inference_mode():
        free = [t for t, _ in decode_steps(tiny.model, ids, GenerationConfig(max_new_tokens=30), stop_ids=set())]
        other = int(tiny.model(input_ids=ids).logits[0, -1].topk(3).indices[2])  # a token the free answer lacks
        options = GenerationConfig(max_new_tokens=30, frequency_penalty=0.7, presence_penalty=0.4,
                                   logit_bias={free[0]: -100, other: 0.5})
        ours = [t for t, _ in decode_steps(tiny.model, ids, options, stop_ids=set())]
        expected: list[int] = []
        for _ in range(30):
            row = tiny.model(input_ids=torch.tensor([ids[0].tolist() + expected])).logits[0, -1].clone()
            row[free[0]] -= 100
            row[other] += 0.5
            for token in set(expected):
                row[token] -= 0.7 * expected.count(token) + 0.4
            expected.append(int(row.argmax()))
    assert ours == expected
    assert free[0] not in ours and ours != free  # the rule changed the answer, so the comparison tested something
    assert len(set(ours)) > len(set(free))  # and it repeats itself less
