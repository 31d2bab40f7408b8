"""Dynamic batching: embedding requests that arrive together run as one ``embed_many`` call.

One worker per embedder takes the first waiting request, gathers whatever else arrives
within ``window_s`` (and whatever queued up while the previous batch ran) up to
``max_texts`` texts, embeds them in one call on a worker thread (a request of more texts
goes in parts of ``max_texts``), and hands each request its rows (and, where the embedder
counts them, the tokens its texts gave the model).
``window_s=None`` turns batching off: one request per call, in arrival order (the
baseline ``bench serve`` compares with).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Waiting = tuple[list[str], "asyncio.Future[tuple[np.ndarray, int]]"]
Counter = Callable[[list[str]], "list[int] | None"]


class DynamicBatcher:
    """Queue texts, get their vectors; the calls of concurrent requests are merged."""

    def __init__(self, embed: Callable[[list[str]], Any], *, window_s: float | None = 0.005, max_texts: int = 256,
                 dim: int = 0, count: Counter | None = None) -> None:
        self.embed_fn, self.window_s, self.max_texts = embed, window_s, max_texts
        self.count_fn = count  # each text's token count (Embedder.token_counts), run after embed_fn on its thread
        self.dim = dim  # the vectors' dimension, when the caller knows it
        self.queue: asyncio.Queue[Waiting] | None = None
        self.worker: asyncio.Task[None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.calls = 0  # embed_many calls made (tests and the bench read it)

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The vectors of ``texts``, (len(texts), dim) float32."""
        return (await self.embed_counted(texts))[0]

    async def embed_counted(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """The vectors of ``texts`` and the tokens they gave the model (0 where the embedder does not count).

        More than ``max_texts`` texts go in parts, one after another, so that other requests are served between
        them rather than behind all of them."""
        if len(texts) > self.max_texts:
            parts = [await self.embed_counted(texts[i: i + self.max_texts]) for i in range(0, len(texts), self.max_texts)]
            return np.vstack([rows for rows, _ in parts]), sum(tokens for _, tokens in parts)
        loop = asyncio.get_running_loop()
        if self.loop is not loop:  # the queue and its worker belong to one event loop
            self.loop, self.queue = loop, asyncio.Queue()
            self.worker = loop.create_task(self._run())
        assert self.queue is not None
        future: asyncio.Future[tuple[np.ndarray, int]] = loop.create_future()
        await self.queue.put((list(texts), future))
        return await future

    async def _gather(self, first: Waiting) -> list[Waiting]:
        """The first request and those that join it within the window, up to max_texts texts."""
        assert self.queue is not None
        batch, n = [first], len(first[0])
        if self.window_s is None:
            return batch
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.window_s
        while n < self.max_texts:
            try:
                item = self.queue.get_nowait() if loop.time() >= deadline else \
                    await asyncio.wait_for(self.queue.get(), deadline - loop.time())
            except (TimeoutError, asyncio.QueueEmpty):
                break
            batch.append(item)
            n += len(item[0])
        return batch

    async def _run(self) -> None:
        assert self.queue is not None
        while True:
            batch = await self._gather(await self.queue.get())
            texts = [t for ts, _ in batch for t in ts]
            try:
                self.calls += 1
                vectors, counts = await asyncio.to_thread(self._embed, texts)
            except Exception as exc:  # the requests of this batch fail; the worker goes on
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for ts, future in batch:
                if not future.done():
                    future.set_result((vectors[start: start + len(ts)], sum(counts[start: start + len(ts)])))
                start += len(ts)

    def _embed(self, texts: list[str]) -> tuple[np.ndarray, list[int]]:
        """One batch's vectors and token counts, on the worker thread (one tokenizer user at a time)."""
        vectors = np.asarray(self.embed_fn(texts), dtype=np.float32)
        counts = self.count_fn(texts) if self.count_fn is not None else None
        return vectors, counts if counts is not None else [0] * len(texts)
