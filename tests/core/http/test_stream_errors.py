"""An error after a stream began ends it with an error the client reads (OpenAI's and Ollama's ways), not a broken
connection; a fault of the server's is logged with its traceback.

The generator is a plumbing stand-in that fails after its first pieces: a real model fails that way when, say,
its memory runs out in the middle of an answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from latentstack.http.app import build_app
from latentstack.http.run import InThread
from latentstack.http.state import Served
from latentstack.interfaces import Generator


class Faulty(Generator):
    """Writes two words, then fails."""

    def stream(self, prompt: Any, options: Any = None) -> Iterator[str]:
        yield "one "
        yield "two "
        raise RuntimeError("the accelerator went away")


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    served = Served(generator="faulty", generator_options={"model": "faulty"}, loaded={"generator": Faulty()})
    running = InThread(build_app(served))
    yield running.url
    running.stop()


def test_openai_streams_end_with_an_error_event_the_client_raises(url: str, caplog: pytest.LogCaptureFixture) -> None:
    import openai
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    got: list[str] = []
    with caplog.at_level(logging.ERROR), pytest.raises(openai.APIError, match="internal error: RuntimeError: the "
                                                                           "accelerator went away"):
        for chunk in client.chat.completions.create(model="faulty", messages=[{"role": "user", "content": "go"}],
                                                    stream=True):
            got.append(chunk.choices[0].delta.content or "")
    assert "".join(got) == "one two "  # what was written before the fault reached the client
    assert any(r.exc_info and "accelerator went away" in str(r.exc_info[1]) for r in caplog.records)
    with pytest.raises(openai.APIError, match="accelerator went away"):
        list(client.completions.create(model="faulty", prompt="go", stream=True))


def test_ollama_streams_end_with_an_error_line(url: str) -> None:
    with httpx.stream("POST", f"{url}/api/chat", json={"model": "faulty", "messages": [
            {"role": "user", "content": "go"}]}, timeout=30) as reply:
        lines = [json.loads(line) for line in reply.iter_lines() if line]
    assert [line["message"]["content"] for line in lines[:-1]] == ["one ", "two "]
    assert lines[-1] == {"error": "internal error: RuntimeError: the accelerator went away"}
