"""A client that gives up on a chat answer it waits for whole stops its generation (uvicorn and httpx, for real).

The generator is a plumbing stand-in that writes forever and says when it is stopped: a real model would end at
its token budget, which is what a client that left should not have to wait for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from latentstack.http.app import build_app
from latentstack.http.run import InThread
from latentstack.http.state import Served
from latentstack.interfaces import Generator


class Endless(Generator):
    """Writes "word " until it is closed; ``stopped`` is set then."""

    def __init__(self) -> None:
        super().__init__()
        self.stopped = threading.Event()

    def stream(self, prompt: Any, options: Any = None) -> Iterator[str]:
        try:
            while True:
                time.sleep(0.005)  # a token's decoding
                yield "word "
        finally:
            self.stopped.set()


def test_a_client_that_gives_up_stops_its_generation() -> None:
    gen = Endless()
    served = Served(generator="endless", generator_options={"model": "endless"}, loaded={"generator": gen})
    running = InThread(build_app(served))
    try:
        body = {"model": "endless", "messages": [{"role": "user", "content": "go on forever"}], "max_tokens": 1024}
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(running.url + "/v1/chat/completions", json=body, timeout=1.0)  # the client gives up and closes the connection
        assert gen.stopped.wait(30)  # before this fix it wrote on to its 1,024-token budget
    finally:
        running.stop()


class SlowEndless(Endless):
    """Endless at a token every 50 ms (its 1,024-token budget lasts 51 s), counting its streams that stopped."""

    def __init__(self) -> None:
        super().__init__()
        self.stops = threading.Semaphore(0)

    def stream(self, prompt: Any, options: Any = None) -> Iterator[str]:
        try:
            while True:
                time.sleep(0.05)
                yield "word "
        finally:
            self.stops.release()


def test_a_client_that_leaves_a_stream_of_several_choices_stops_them_all() -> None:
    """n choices streamed from a generator that decodes one answer at a time: the first streams before the others
    begin (they waited for it whole), and a client that leaves stops it and the others never start: the
    generator's turns are all taken and given back."""
    gen = SlowEndless()
    served = Served(generator="endless", generator_options={"model": "endless"}, loaded={"generator": gen})
    running = InThread(build_app(served))
    try:
        body = {"model": "endless", "messages": [{"role": "user", "content": "go on"}], "max_tokens": 1024, "n": 3,
                "stream": True}
        chunks = 0
        with httpx.stream("POST", running.url + "/v1/chat/completions", json=body, timeout=10) as reply:
            for line in reply.iter_lines():
                chunks += line.startswith("data: {")
                if chunks == 8:  # three role chunks, then the first choice's words
                    break  # leaving the block closes the connection
        _only_the_first_ran(gen, served)
    finally:
        running.stop()


@pytest.mark.parametrize("echo", [False, True])
def test_a_client_that_leaves_a_streamed_list_of_prompts_stops_them_all(echo: bool) -> None:
    """A list of prompts streamed from a generator that decodes one answer at a time: a client that leaves during
    the first prompt's answer stops it, and the others never start (their turns all taken and given back)."""
    gen = SlowEndless()
    gen.raw_tokens = lambda text, special=False: [1, 2, 3]  # type: ignore[method-assign]  # echo reads the prompt raw
    gen.raw_text = lambda ids: "abc"  # type: ignore[method-assign]
    gen.stream_raw = lambda ids, options, scored=None: gen.stream_answer("go on", options, scored)  # type: ignore[method-assign]
    served = Served(generator="endless", generator_options={"model": "endless"}, loaded={"generator": gen})
    running = InThread(build_app(served))
    try:
        body = {"model": "endless", "prompt": ["go on", "and on", "and on again"], "max_tokens": 1024, "stream": True,
                "echo": echo}
        chunks = 0
        with httpx.stream("POST", running.url + "/v1/completions", json=body, timeout=10) as reply:
            for line in reply.iter_lines():
                chunks += line.startswith("data: {")
                if chunks == 5:
                    break  # leaving the block closes the connection
        _only_the_first_ran(gen, served)
    finally:
        running.stop()


def _only_the_first_ran(gen: SlowEndless, served: Served) -> None:
    """The first of three answers stopped, every turn was taken and given back, and the other two never began."""
    assert gen.stops.acquire(timeout=10)
    lock, waited = served.gen_lock, time.monotonic()
    while (lock.running or lock.serving < 3) and time.monotonic() - waited < 10:
        time.sleep(0.05)
    assert (lock.next_ticket, lock.serving, lock.running) == (3, 3, [])
    assert not gen.stops.acquire(timeout=0.5)  # the other two never began
