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


@pytest.fixture(scope="package")
def chat_client(chat_url: str) -> Any:
    """The openai client of ``chat_url``."""
    from openai import OpenAI

    return OpenAI(base_url=f"{chat_url}/v1", api_key="unused")
