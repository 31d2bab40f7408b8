"""Running a blocking generator stream on its own thread and reading it from the event loop.

The whole stream runs on one thread (torch's inference mode is per thread), under the
server's generation lock; pieces cross to the event loop through a queue. The first
piece is awaited before a response starts, so an error in the request (an empty prompt,
one over the context window) is still a 4xx, not a broken stream. A client that goes
away stops the generation at its next piece, whether it streams or waits for the whole answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

ANSWER_THREAD = "latentstack-answer"  # the name of the threads that produce Pieces
DONE = object()
UNREAD = object()  # a Pieces whose first item was not awaited yet
T = TypeVar("T")


class FairLock:
    """A lock taken in arrival order (tickets), so generation requests queue fairly across threads.

    Turns that name the same ``shared`` key (answers with one adapter) run together, up to ``rows`` of them, where
    the generator decodes that many together (``Generator.parallel_rows``); any other turn runs alone."""

    def __init__(self, rows: int = 1) -> None:
        self.rows = rows
        self.cond = threading.Condition()
        self.next_ticket = 0
        self.serving = 0  # the first ticket not let in yet
        self.running: list[str | None] = []  # the keys of the turns running now

    def _free(self, shared: str | None) -> bool:
        if not self.running:
            return True
        return shared is not None and len(self.running) < self.rows and all(k == shared for k in self.running)

    @contextlib.contextmanager
    def turn(self, shared: str | None = None) -> Iterator[None]:
        """Wait for this caller's turn; the next one goes when the block ends (or at once, sharing it)."""
        with self.cond:
            ticket = self.next_ticket
            self.next_ticket += 1
            while self.serving != ticket or not self._free(shared):
                self.cond.wait()
            self.serving += 1
            self.running.append(shared)
            self.cond.notify_all()
        try:
            yield
        finally:
            with self.cond:
                self.running.remove(shared)
                self.cond.notify_all()


class Pieces(Generic[T]):
    """The pieces of a blocking iterator, produced on a thread, consumed with ``async for``."""

    def __init__(self, make: Callable[[], Iterator[T]], lock: FairLock, shared: str | None = None) -> None:
        self.make, self.lock, self.shared = make, lock, shared
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.cancelled = threading.Event()
        self.first: Any = UNREAD

    def _post(self, loop: asyncio.AbstractEventLoop, item: Any) -> None:
        """Hand an item to the reader's loop; a closed loop means the reader is gone, so generation stops."""
        try:
            loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the event loop was closed (the server stopped)
            self.cancelled.set()

    def _produce(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            with self.lock.turn(self.shared):
                if not self.cancelled.is_set():  # a client that left while waiting costs nothing
                    self._relay(loop)
        except Exception as exc:  # handed to the reader, who answers the client
            self._post(loop, exc)
        self._post(loop, DONE)

    def _relay(self, loop: asyncio.AbstractEventLoop) -> None:
        """Post the pieces until the end or until cancelled; the iterator closed here, on its own thread, whoever
        still holds it (its cleanup, a decoding row's exit, runs now rather than when it is collected)."""
        pieces = self.make()
        try:
            for piece in pieces:
                if self.cancelled.is_set():
                    break
                self._post(loop, piece)
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()

    def begin(self) -> None:
        """Start the thread (on the running event loop's behalf)."""
        threading.Thread(target=self._produce, args=(asyncio.get_running_loop(),), daemon=True,
                         name=ANSWER_THREAD).start()

    async def start(self) -> None:
        """Start the thread and wait for the first piece (raising the stream's error, if that came first)."""
        self.begin()
        await self.first_piece()

    async def first_piece(self) -> None:
        """Wait for the first piece (raising the stream's error, if that came first)."""
        try:
            self.first = await self.queue.get()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        if isinstance(self.first, Exception):
            raise self.first

    async def __aiter__(self) -> AsyncIterator[T]:
        try:
            item = self.first if self.first is not UNREAD else await self.queue.get()
            while item is not DONE:
                if isinstance(item, Exception):
                    raise item
                yield item
                item = await self.queue.get()
        finally:
            self.cancelled.set()

    async def collect(self, gone: Callable[[], Awaitable[bool]] | None = None) -> list[T]:
        """Every piece; when ``gone()`` (the client disconnected) turns true, generation stops there."""
        parts = []
        async for piece in self:
            parts.append(piece)
            if gone is not None and await gone():
                break  # leaving the loop sets ``cancelled``: the thread stops at its next piece
        return parts


def answers_ended(timeout_s: float) -> None:
    """Wait (at most ``timeout_s`` in all) for the threads producing Pieces to end: once their readers are gone they
    stop at their next piece. A process that exits while one is inside the model can abort instead of exiting."""
    import time

    deadline = time.monotonic() + timeout_s
    for thread in threading.enumerate():
        if thread.name == ANSWER_THREAD:
            thread.join(max(0.0, deadline - time.monotonic()))


async def interleaved(streams: Sequence[AsyncIterator[T]]) -> AsyncIterator[T]:
    """The items of several streams as each comes (each stream read by a task of its own); a stream's error is
    raised as it comes, and leaving (or an error) cancels the streams' tasks."""
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def read(stream: AsyncIterator[T]) -> None:
        try:
            async for item in stream:
                queue.put_nowait((item,))
        except Exception as exc:  # the reader raises it, as the streams' own error
            queue.put_nowait(exc)
            return
        queue.put_nowait(DONE)

    tasks = [asyncio.create_task(read(stream)) for stream in streams]
    try:
        ended = 0
        while ended < len(tasks):
            item = await queue.get()
            if isinstance(item, Exception):
                raise item
            if item is DONE:
                ended += 1
            else:
                yield item[0]
    finally:
        for task in tasks:
            task.cancel()


async def choice_chunks(streams: Sequence[AsyncIterator[Any]], runs: Sequence[Pieces[Any]],
                        ends: dict[int, tuple[Any, ...]]) -> AsyncIterator[Any]:
    """The chunks of several choices' streams as they come (``interleaved``); a stream ends with a tuple (its index,
    what its end says), kept in ``ends`` rather than yielded. Leaving stops every run not read to its end (at its
    next piece, or before its turn)."""
    try:
        async for item in interleaved(streams):
            if isinstance(item, tuple):
                ends[item[0]] = item[1:]
            else:
                yield item
    finally:
        for run in runs:
            run.cancelled.set()


def sse(events: AsyncIterator[dict[str, Any]], error: Callable[[Any], dict[str, Any]] | None = None,
        done: bool = True) -> Any:
    """Server-sent events: one ``data:`` line per JSON event (after an ``event:`` line naming its ``type``, where it
    has one, as the Responses API streams), then ``data: [DONE]`` (unless not ``done``). An error after the response
    began is an event of its own: ``error(HttpError)``, by default ``{"error": {...}}`` as a 4xx or 5xx body would
    hold it (vLLM's way; OpenAI's client raises it), and the stream ends there."""
    from fastapi.responses import StreamingResponse

    from latentstack.http.errors import stream_failure

    def line(event: dict[str, Any]) -> str:
        named = f"event: {event['type']}\n" if isinstance(event.get("type"), str) else ""
        return f"{named}data: {json.dumps(event)}\n\n"

    async def lines() -> AsyncIterator[str]:
        try:
            async for event in events:
                yield line(event)
        except Exception as exc:
            failure = stream_failure(exc)
            yield line(failure.body() if error is None else error(failure))
        if done:
            yield "data: [DONE]\n\n"

    return StreamingResponse(lines(), media_type="text/event-stream")


async def collected(runs: Sequence[Pieces[T]], gone: Callable[[], Awaitable[bool]] | None = None) -> list[list[T]]:
    """Every run's items, the runs begun together (in turn under their lock, decoded together where it lets them); an
    error in one stops the others and is raised."""
    for run in runs:
        run.begin()
    tasks = [asyncio.ensure_future(run.collect(gone)) for run in runs]
    try:
        return list(await asyncio.gather(*tasks))
    finally:  # after an error (or the client leaving), the others stop at their next item or before their turn
        for run, task in zip(runs, tasks, strict=True):
            run.cancelled.set()
            task.cancel()


async def first_begun(runs: Sequence[Pieces[T]]) -> None:
    """Begin every run and wait for the first one's first item; its error is raised once, the other runs stopped
    (before their turn, or at their next item)."""
    for run in runs:
        run.begin()
    try:
        await runs[0].first_piece()
    except BaseException:
        for run in runs:
            run.cancelled.set()
        raise


async def in_turn(work: Callable[[], T], lock: FairLock) -> T:
    """``work()`` run on a thread in its turn under ``lock`` (the generator's tokenizer, like its model, serves one
    thread at a time)."""

    def make() -> Iterator[T]:
        yield work()

    return (await (await started(make, lock)).collect())[0]


async def started(make: Callable[[], Iterator[T]], lock: FairLock, shared: str | None = None) -> Pieces[T]:
    """The items of ``make()``, produced on a thread in its turn under ``lock`` (alongside the turns ``shared`` with,
    FairLock); started, so an error before the first item is raised here."""
    pieces = Pieces(make, lock, shared)
    await pieces.start()
    return pieces
