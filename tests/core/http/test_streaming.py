"""Generation requests take turns in arrival order; a stream's error reaches its reader; pieces cross threads."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from latentstack.errors import InputError
from latentstack.http.streaming import FairLock, Pieces


def test_turns_go_in_arrival_order() -> None:
    lock, order = FairLock(), []
    holder = threading.Event()

    def first() -> None:
        with lock.turn():
            holder.set()
            time.sleep(0.2)  # the others queue up meanwhile, in a known order
            order.append(0)

    def later(i: int) -> None:
        with lock.turn():
            order.append(i)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    holder.wait()
    for i in range(1, 6):
        t = threading.Thread(target=later, args=(i,))
        t.start()
        threads.append(t)
        time.sleep(0.02)
    for t in threads:
        t.join()
    assert order == [0, 1, 2, 3, 4, 5]


def test_pieces_arrive_and_an_early_error_is_raised_by_start() -> None:
    def words() -> Iterator[str]:
        yield from ["a", "b", "c"]

    def broken() -> Iterator[str]:
        raise InputError("the prompt is empty")
        yield ""  # pragma: no cover

    async def run() -> str:
        lock = FairLock()
        ok = Pieces(words, lock)
        await ok.start()
        text = "".join(await ok.collect())
        bad = Pieces(broken, lock)
        with pytest.raises(InputError, match="empty"):
            await bad.start()
        return text

    assert asyncio.run(run()) == "abc"


def test_collecting_stops_the_generation_when_its_client_is_gone() -> None:
    """A non-streamed request whose client gave up (a timeout, then a retry) ran to max_tokens, holding the
    generation lock from every other request; collect asks whether the client is gone after each piece."""
    stopped = threading.Event()

    def endless() -> Iterator[str]:
        try:
            while True:
                yield "x"
        finally:
            stopped.set()

    async def run() -> str:
        calls = 0

        async def gone() -> bool:
            nonlocal calls
            calls += 1
            return calls >= 5  # the client leaves after five pieces

        pieces = Pieces(endless, FairLock())
        await pieces.start()
        return "".join(await pieces.collect(gone))

    assert asyncio.run(run()) == "xxxxx"
    assert stopped.wait(10)  # an endless generation ended: the thread stopped it at its next piece


def _holding(lock: FairLock, shared: str | None, inside: list[str], most: list[int], name: str) -> None:
    with lock.turn(shared):
        inside.append(name)
        most.append(len(inside))
        time.sleep(0.15)
        inside.remove(name)


def _together(lock: FairLock, turns: list[str | None]) -> int:
    """The most turns that held ``lock`` at once, the turns asked for 20 ms apart in order."""
    inside: list[str] = []
    most: list[int] = []
    threads = [threading.Thread(target=_holding, args=(lock, key, inside, most, f"t{i}")) for i, key in enumerate(turns)]
    for t in threads:
        t.start()
        time.sleep(0.02)
    for t in threads:
        t.join()
    return max(most)


def test_turns_sharing_a_key_run_together_up_to_the_rows() -> None:
    assert _together(FairLock(rows=3), ["a"] * 5) == 3
    assert _together(FairLock(rows=1), ["a"] * 3) == 1  # the default: one at a time


def test_a_turn_of_another_key_or_none_runs_alone() -> None:
    assert _together(FairLock(rows=4), ["a", "b", "a", "b"]) == 1  # another adapter waits; the next waits behind it
    assert _together(FairLock(rows=4), ["a", None, "a"]) == 1  # a scoring turn (no key) is alone
