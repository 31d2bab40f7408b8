"""Dynamic batching: requests that wait together share one call, each gets its own rows, errors stay per batch."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from latentstack.http.batcher import DynamicBatcher


def fake_embed(calls: list[list[str]]):  # noqa: ANN201 - a test double that records its calls
    def embed(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        if "boom" in texts:
            raise ValueError("boom")
        return np.array([[float(len(t)), float(i)] for i, t in enumerate(texts)], dtype=np.float32)
    return embed


def test_concurrent_requests_share_calls_and_get_their_own_rows() -> None:
    calls: list[list[str]] = []
    batcher = DynamicBatcher(fake_embed(calls), window_s=0.05)

    async def run() -> list[np.ndarray]:
        return await asyncio.gather(*(batcher.embed(["x" * n] * (n % 3 + 1)) for n in range(1, 11)))

    out = asyncio.run(run())
    assert len(calls) < 10 and sum(len(c) for c in calls) == sum(n % 3 + 1 for n in range(1, 11))
    for n, rows in zip(range(1, 11), out, strict=True):
        assert rows.shape == (n % 3 + 1, 2) and (rows[:, 0] == n).all()


def test_each_request_gets_the_token_count_of_its_own_texts() -> None:
    """Merged requests are counted apart: each gets the sum over its own texts (a text of n x's counts n)."""
    calls: list[list[str]] = []
    batcher = DynamicBatcher(fake_embed(calls), window_s=0.05, count=lambda texts: [len(t) for t in texts])
    plain = DynamicBatcher(fake_embed([]), window_s=0.05)

    async def run() -> list[tuple[np.ndarray, int]]:
        return await asyncio.gather(*(batcher.embed_counted(["x" * n] * (n % 3 + 1)) for n in range(1, 11)))

    out = asyncio.run(run())
    assert len(calls) < 10 and [tokens for _, tokens in out] == [n * (n % 3 + 1) for n in range(1, 11)]
    assert asyncio.run(plain.embed_counted(["abc"]))[1] == 0  # an embedder without tokens counts none


def test_without_a_window_each_request_is_its_own_call_and_a_new_loop_works() -> None:
    calls: list[list[str]] = []
    batcher = DynamicBatcher(fake_embed(calls), window_s=None)

    async def run() -> list[np.ndarray]:
        return await asyncio.gather(*(batcher.embed([str(i)]) for i in range(5)))

    asyncio.run(run())
    asyncio.run(run())  # a second event loop (a restarted server) gets a worker of its own
    assert len(calls) == 10 and all(len(c) == 1 for c in calls)


def test_an_error_fails_its_batch_and_the_worker_goes_on() -> None:
    batcher = DynamicBatcher(fake_embed([]), window_s=None)

    async def run() -> np.ndarray:
        with pytest.raises(ValueError, match="boom"):
            await batcher.embed(["boom"])
        return await batcher.embed(["fine"])

    assert asyncio.run(run()).shape == (1, 2)


def test_a_request_of_more_than_max_texts_goes_in_parts_with_others_served_between() -> None:
    """A request of 2,048 texts was one call, holding every other request up behind it."""
    calls: list[list[str]] = []
    batcher = DynamicBatcher(fake_embed(calls), window_s=None, max_texts=4, count=lambda texts: [len(t) for t in texts])

    async def run() -> list[tuple[np.ndarray, int]]:
        big = asyncio.ensure_future(batcher.embed_counted([f"t{i}" for i in range(10)]))
        await asyncio.sleep(0)
        small = asyncio.ensure_future(batcher.embed_counted(["small"]))
        return list(await asyncio.gather(big, small))

    (rows, tokens), (one, _) = asyncio.run(run())
    assert [len(c) for c in calls] == [4, 1, 4, 2]  # the small request between the big one's parts
    assert rows.shape == (10, 2) and tokens == sum(len(f"t{i}") for i in range(10))
    assert rows[:, 1].tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1] and one.shape == (1, 2)
