"""Answers decoded together (``parallel``): a packed pass gives each row the logits it gets alone, and answers asked
for on several threads are the ones each gets one at a time, with fewer passes."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import pytest

from latentstack.interfaces import GenerationConfig
from latentstack_llm import step_batcher
from latentstack_llm.decoding import alone
from latentstack_llm.generator import LlmGenerator
from latentstack_llm.packed import make_packable, packed_forward

PROMPTS = ("the cat sat on the mat", "a b c d e f g a b c d e f g a b c", "hello", "one two three four five six",
           "the dog ran to the park and the dog ran to the park")


@pytest.mark.parametrize("folder", ["tiny_llama_dir", "tiny_gpt2_dir"])
def test_a_packed_pass_gives_each_row_what_it_gets_alone(folder: str, request: pytest.FixtureRequest) -> None:
    import torch
    from transformers import DynamicCache

    gen = LlmGenerator.from_options(model=str(request.getfixturevalue(folder)))
    model = gen.model
    make_packable(model)
    prompts = [gen.prompt_ids(p)[0].tolist() for p in PROMPTS[:3]]
    news, keeps = ([5], [7, 8, 9], [11, 12, 13, 14, 15]), (1, 3, 2)
    with torch.inference_mode():
        ours, theirs = [DynamicCache(config=model.config) for _ in prompts], [DynamicCache(config=model.config) for _ in prompts]
        for cache, mine, ids in zip(ours, theirs, prompts, strict=True):  # caches of different lengths
            alone(model)(cache, ids, 1)
            alone(model)(mine, ids, 1)
        packed = packed_forward(model, list(zip(ours, news, keeps, strict=True)))
        single = [alone(model)(c, n, k) for c, n, k in zip(theirs, news, keeps, strict=True)]
        for a, b in zip(packed, single, strict=True):
            assert a.shape == b.shape
            assert torch.allclose(a, b, atol=1e-4), float((a - b).abs().max())
        for a, b in zip(ours, theirs, strict=True):  # each row's cache is the one it would have made alone
            assert a.get_seq_length() == b.get_seq_length()
            assert torch.allclose(a.layers[-1].keys, b.layers[-1].keys, atol=1e-5)


def _answers(gen: LlmGenerator, jobs: list[tuple[str, GenerationConfig]], threads: bool) -> list[str]:
    if not threads:
        return [gen.generate(p, o) for p, o in jobs]
    out = [""] * len(jobs)

    def run(i: int) -> None:
        out[i] = gen.generate(*jobs[i])

    running = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in running:
        t.start()
    for t in running:
        t.join()
    return out


@pytest.mark.parametrize("part", [step_batcher.PROMPT_PART, 5])
def test_answers_on_threads_are_the_ones_each_gets_alone(tiny_llama_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                         part: int) -> None:
    """Greedy (prompt lookup on), with a repetition penalty, sampled with a seed and held to a JSON schema, five
    threads over three rows; prompts read whole, and in parts of five tokens (whole where a row reads alone)."""
    packs: list[int] = []
    read: list[int] = []
    widest_read_beside_others = 0

    def counted(model: Any, rows: Any) -> Any:
        nonlocal widest_read_beside_others
        packs.append(len(rows))
        read.extend(len(tokens) for _, tokens, _ in rows)
        if len(rows) > 1:
            widest_read_beside_others = max(widest_read_beside_others, *(len(tokens) for _, tokens, _ in rows))
        return packed_forward(model, rows)

    monkeypatch.setattr(step_batcher, "packed_forward", counted)
    monkeypatch.setattr(step_batcher, "PROMPT_PART", part)
    schema = '{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}'
    options = [GenerationConfig(max_new_tokens=24), GenerationConfig(max_new_tokens=24, repetition_penalty=1.3),
               GenerationConfig(max_new_tokens=24, temperature=0.9, seed=3), GenerationConfig(max_new_tokens=24),
               GenerationConfig(max_new_tokens=40, json_schema=schema)]
    jobs = list(zip(PROMPTS, options, strict=True))
    alone_gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    together = LlmGenerator.from_options(model=str(tiny_llama_dir), parallel=3)
    assert together.parallel_rows == 3
    assert _answers(together, jobs, threads=True) == _answers(alone_gen, jobs, threads=False)
    assert max(packs) == 3  # never more rows than asked for, and rows were read together
    # a lookup pass reads a token and its four proposals; a prompt read beside other rows, in parts
    assert widest_read_beside_others <= 5 if part == 5 else max(read) > 5
    assert len(packs) < sum(len(together.tokenizer(a)["input_ids"]) for a in _answers(alone_gen, jobs, False))


def test_rows_run_under_the_adapter_in_use_and_without_one(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """Answers on threads with an adapter loaded: under it, and without it (the adapter turned off while any base
    answer decodes, on again after the last)."""
    from latentstack_llm.sft import SftConfig, train_sft

    train_sft(LlmGenerator.from_options(model=str(tiny_llama_dir)), [
        [{"role": "user", "content": "the cat sat on"}, {"role": "assistant", "content": "the mat mat mat"}]] * 8,
        tmp_path / "a", SftConfig(rank=4, epochs=3, lr=5e-2, batch_size=2, grad_accum=1, seed=0))
    jobs = [(p, GenerationConfig(max_new_tokens=12)) for p in PROMPTS[:3]]
    one, together = (LlmGenerator.from_options(model=str(tiny_llama_dir), parallel=n) for n in (1, 3))
    for gen in (one, together):
        gen.generate("hi", GenerationConfig(max_new_tokens=1))  # the batcher made before the adapter is loaded
        gen.use_adapter(str(tmp_path / "a"))
    tuned = _answers(one, jobs, threads=False)
    assert _answers(together, jobs, threads=True) == tuned
    one.use_adapter("")
    together.use_adapter("")
    base = _answers(one, jobs, threads=False)
    assert base != tuned
    assert _answers(together, jobs, threads=True) == base
    together.use_adapter(str(tmp_path / "a"))
    assert _answers(together, jobs, threads=True) == tuned


def test_a_sliding_window_model_decodes_one_at_a_time(tiny_gemma2_dir: Path) -> None:
    gen = LlmGenerator.from_options(model=str(tiny_gemma2_dir), parallel=4)
    assert gen.parallel_rows == 1
    jobs = [(p, GenerationConfig(max_new_tokens=8)) for p in PROMPTS[:2]]
    assert _answers(gen, jobs, threads=False) == _answers(LlmGenerator.from_options(model=str(tiny_gemma2_dir)), jobs,
                                                          threads=False)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_parallel_must_be_a_whole_number_from_one(bad: object) -> None:
    with pytest.raises(ValueError, match="parallel"):
        LlmGenerator.Config(parallel=bad)  # type: ignore[arg-type]


def test_answers_to_one_prompt_share_its_reading(tiny_llama_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """generate_many's candidates (a greedy answer and seeded samples) are the ones each gets alone, the prompt read
    once; the greedy one's cache kept for the next turn."""
    read: list[int] = []

    def counted(model: Any, rows: Any) -> Any:
        read.extend(len(tokens) for _, tokens, _ in rows)
        return packed_forward(model, rows)

    monkeypatch.setattr(step_batcher, "packed_forward", counted)
    options = [GenerationConfig(max_new_tokens=16)] + [
        GenerationConfig(max_new_tokens=16, temperature=0.05, seed=s) for s in range(3)]
    alone_gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    together = LlmGenerator.from_options(model=str(tiny_llama_dir), parallel=4, prefix_cache=2)
    expected = [alone_gen.generate(PROMPTS[1], each) for each in options]
    assert together.generate_many([PROMPTS[1]] * 4, options) == expected
    prompt = together.count_prompt_tokens(PROMPTS[1])
    assert max(read) == prompt - 1 and sorted(read)[-2] <= 5  # the prompt once; then a token (and proposals) a row
    kept = together.prefix.take(together.adapters.active, together.prompt_ids(PROMPTS[1])[0].tolist())
    assert kept is not None and kept[1] == prompt - 1  # the greedy answer's cache, kept


def test_generate_many_keeps_the_order_and_refuses_a_mismatch(tiny_llama_dir: Path) -> None:
    from latentstack.errors import InputError

    gen = LlmGenerator.from_options(model=str(tiny_llama_dir), parallel=2)
    options = GenerationConfig(max_new_tokens=8)
    assert gen.generate_many(PROMPTS, options) == [LlmGenerator.from_options(model=str(tiny_llama_dir)).generate(
        p, options) for p in PROMPTS]
    with pytest.raises(InputError, match="5 prompts and 2 GenerationConfigs"):
        gen.generate_many(PROMPTS, [options, options])


def test_streams_read_in_turn_on_one_thread_all_finish(tiny_llama_dir: Path) -> None:
    """More streams than rows, read in turn on one thread (``zip_longest``): the thread's further rows join at once instead
    of waiting behind its own, and each answer is the one it gets alone."""
    options = [GenerationConfig(max_new_tokens=10, temperature=0.8, seed=s) for s in range(3)]
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir), parallel=2)
    out: list[list[str]] = []

    def read() -> None:
        texts = [""] * len(options)
        for pieces in itertools.zip_longest(*gen.stream_answers(PROMPTS[0], options)):
            for i, piece in enumerate(pieces):
                texts[i] += piece.text if piece is not None else ""
        out.append(texts)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=120)
    assert not reader.is_alive(), "streams read in turn on one thread waited forever"
    alone_gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    assert out == [[alone_gen.generate(PROMPTS[0], each) for each in options]]
    assert not gen.batcher.holders  # every row left
