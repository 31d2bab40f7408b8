"""Users chatting at the same time with a server whose generator decodes several answers together: each gets the
answer it gets alone, and the answers were decoded together."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from latentstack.http.app import build_app
from latentstack.http.run import InThread
from latentstack.http.state import Served
from tests.core.http.conftest import CHAT

QUESTIONS = ("What is the capital of France?", "Name three colours.", "Write one sentence about rain.",
             "Count from one to five in words.")


@pytest.fixture(scope="module")
def together() -> Iterator[tuple[str, Served]]:
    served = Served(generator="llm", generator_options={"model": CHAT, "parallel": 3})
    running = InThread(build_app(served))
    yield running.url, served
    running.stop()


def _answer(url: str, question: str, stream: bool) -> str:
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    messages: Any = [{"role": "user", "content": question}]
    if not stream:
        reply = client.chat.completions.create(model=CHAT, messages=messages, max_tokens=24, temperature=0)
        return reply.choices[0].message.content or ""
    chunks = client.chat.completions.create(model=CHAT, messages=messages, max_tokens=24, temperature=0, stream=True)
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_users_at_the_same_time_get_the_answers_each_gets_alone(together: tuple[str, Served], chat_url: str) -> None:
    url, served = together
    alone = [_answer(chat_url, q, stream=False) for q in QUESTIONS]
    got = [""] * len(QUESTIONS)

    def ask(i: int) -> None:
        got[i] = _answer(url, QUESTIONS[i], stream=i % 2 == 0)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(QUESTIONS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == alone
    gen = served.generator_instance()
    assert gen.parallel_rows == 3 and served.gen_lock.rows == 3
    assert gen.batcher.widest > 1  # rows were read in shared passes
