"""A chat model served over OpenAI's chat-completions API, as a Generator.

The prompt goes as chat messages, the answer comes back streamed; greedy decoding is
``temperature`` 0 (a server may still differ run to run). ``repetition_penalty`` other than 1
is sent as vLLM and llama.cpp name it (OpenAI itself refuses it). Tokens are not counted
by the server before it answers, so ``count_tokens`` keeps the Generator's estimate (two a
word), and ``context_window`` is what the ``context_window`` option says (0: unknown).
Each failure to reach or use the server is one line saying what to do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import attrs

from latentstack.errors import ConfigError, InputError
from latentstack.interfaces import GenerationConfig, Generator, GeneratorConfig
from latentstack.interfaces.generator import Messages, as_messages, as_options
from latentstack_remote.client import OLLAMA, client, explained


@attrs.frozen(kw_only=True)
class RemoteConfig(GeneratorConfig):
    """Which server, which of its models, and how to reach it."""

    base_url: str = OLLAMA
    #: The key the server wants (``Authorization: Bearer``); empty: ``$OPENAI_API_KEY``, else none.
    api_key: str = attrs.field(default="", repr=False)
    #: Tokens the model attends to, when known (``ask`` then fits its passages into it); 0: unknown.
    context_window: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    timeout: float = attrs.field(default=600.0, validator=attrs.validators.gt(0))


class RemoteGenerator(Generator):
    """Streams answers from ``config.model`` on the OpenAI-compatible server at ``config.base_url``."""

    name = "openai"
    Config = RemoteConfig
    config: RemoteConfig

    def __init__(self, config: RemoteConfig | None = None) -> None:
        super().__init__(config)
        self._client: Any = None

    @property
    def context_window(self) -> int | None:
        """The ``context_window`` option, None when 0."""
        return self.config.context_window or None

    def _connect(self) -> Any:
        if not self.config.model:
            msg = (f"the openai generator needs --model: the name of a model the server at {self.config.base_url} "
                   "serves (GET /models lists them)")
            raise ConfigError(msg)
        if self._client is None:
            self._client = client(self.config.base_url, self.config.api_key, self.config.timeout)
        return self._client

    def stream(self, prompt: str | Messages, options: GenerationConfig | None = None) -> Iterator[str]:
        """The answer's pieces as the server streams them; a ``json_schema`` goes to the server as OpenAI's
        ``response_format`` (the server holds the answer to it, or refuses)."""
        messages, o = as_messages(prompt), as_options(options)
        if not any(m["content"].strip() for m in messages):
            msg = "the prompt is empty: give the model something to answer"
            raise InputError(msg)
        api = self._connect()
        extra = {"repetition_penalty": o.repetition_penalty} if o.repetition_penalty != 1.0 else None
        schema = {"response_format": {"type": "json_schema", "json_schema": {
            "name": "answer", "schema": json.loads(o.json_schema), "strict": True}}} if o.json_schema else {}
        with explained(self.config.base_url, self.config.model, "chat"):
            stream = api.chat.completions.create(
                model=self.config.model, messages=messages, stream=True, max_tokens=o.max_new_tokens,
                temperature=o.temperature, top_p=o.top_p, seed=o.seed, stop=list(o.stop) or None, extra_body=extra,
                **schema)
            for chunk in stream:
                piece = chunk.choices[0].delta.content if chunk.choices else None
                if piece:
                    yield piece
