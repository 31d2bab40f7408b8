"""One server for the modules that chat with SmolLM2 alone (Ollama's routes, log-probabilities, structured answers,
tool calls): its generator, on a loopback port, loaded once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from latentstack.http.app import build_app
from latentstack.http.run import InThread
from latentstack.http.state import Served

CHAT = "smollm2-135m-instruct"


@pytest.fixture(scope="package")
def chat_url() -> Iterator[str]:
    running = InThread(build_app(Served(generator="llm", generator_options={"model": CHAT})))
    yield running.url
    running.stop()


@pytest.fixture
def packs(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The passes the llm generator's step batcher reads from now on, each as its rows' token counts (a pass of
    several rows read answers together)."""
    from latentstack_llm import step_batcher

    seen: list[list[int]] = []
    packed = step_batcher.packed_forward

    def counted(model: Any, rows: Any) -> Any:
        seen.append([len(tokens) for _, tokens, _ in rows])
        return packed(model, rows)

    monkeypatch.setattr(step_batcher, "packed_forward", counted)
    return seen


@pytest.fixture(scope="package")
def chat_client(chat_url: str) -> Any:
    """The openai client of ``chat_url``."""
    from openai import OpenAI

    return OpenAI(base_url=f"{chat_url}/v1", api_key="unused")
