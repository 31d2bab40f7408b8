"""A chat model served over OpenAI's chat-completions API, as a Generator.

The prompt goes as chat messages, the answer comes back streamed; greedy decoding is
``temperature`` 0 (a server may still differ run to run). ``repetition_penalty`` other than 1
is sent as vLLM and llama.cpp name it (OpenAI itself refuses it), as are ``top_k`` and
``min_p``; ``presence_penalty``, ``frequency_penalty`` and ``logit_bias`` (token ids of the
server's model) go as OpenAI's. Tokens are not counted by the server before it answers, so
``count_tokens`` keeps the Generator's estimate (two a word), and ``context_window`` is what
the ``context_window`` option says (0: unknown).
Each failure to reach or use the server is one line saying what to do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import attrs

from latentstack.errors import ConfigError, InputError
from latentstack.interfaces import GenerationConfig, GeneratorConfig
from latentstack.interfaces.generator import Finish, Messages, ScoredPiece, ScoringGenerator, TokenScore, as_messages
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


class RemoteGenerator(ScoringGenerator):
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

    def pieces(self, prompt: str | Messages, o: GenerationConfig, top: int | None) -> Iterator[ScoredPiece]:
        """The answer's pieces as the server streams them, with the log-probabilities it sends when ``top`` is not
        None (``logprobs`` asked of it; a server that does not give them is an InputError saying so); a
        ``json_schema`` goes to the server as OpenAI's ``response_format`` (the server holds the answer to it, or
        refuses). The last piece says how the server says the answer ended, and the tokens its usage counts (the
        Generator's estimate where it sends none)."""
        messages = as_messages(prompt)
        if not any(m["content"].strip() for m in messages):
            msg = "the prompt is empty: give the model something to answer"
            raise InputError(msg)
        api = self._connect()
        extra = _extra(o)
        asked: dict[str, Any] = {} if top is None else {"logprobs": True, "top_logprobs": top}
        asked.update(_shifts(o))
        if o.json_schema:
            asked["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "answer", "schema": json.loads(o.json_schema), "strict": True}}
        with explained(self.config.base_url, self.config.model, "chat"):
            stream = api.chat.completions.create(
                model=self.config.model, messages=messages, stream=True, max_tokens=o.max_new_tokens,
                temperature=o.temperature, top_p=o.top_p, seed=o.seed, stop=list(o.stop) or None, extra_body=extra,
                stream_options={"include_usage": True}, **asked)
            text, reason, used = [], None, None
            for chunk in stream:
                piece = chunk.choices[0].delta.content if chunk.choices else None
                scores = _scores(chunk, top, self.config.base_url)
                reason = (chunk.choices[0].finish_reason if chunk.choices else None) or reason
                used = chunk.usage.completion_tokens if getattr(chunk, "usage", None) else used
                if piece or scores:
                    text.append(piece or "")
                    yield ScoredPiece(piece or "", scores)
        if used is None:  # no usage sent: the estimate, at most the budget, as the Generator's default counts
            used = min(self.count_tokens("".join(text)), o.max_new_tokens)
        yield ScoredPiece("", (), Finish("length" if reason == "length" else "stop", used))


def _extra(o: GenerationConfig) -> dict[str, Any] | None:
    """The options OpenAI does not define, as vLLM and llama.cpp name them, where asked for."""
    sent = {"repetition_penalty": o.repetition_penalty if o.repetition_penalty != 1.0 else None,
            "top_k": o.top_k or None, "min_p": o.min_p or None}
    return {name: value for name, value in sent.items() if value is not None} or None


def _shifts(o: GenerationConfig) -> dict[str, Any]:
    """OpenAI's penalties and logit_bias, where asked for (left out at their defaults)."""
    sent = {"presence_penalty": o.presence_penalty, "frequency_penalty": o.frequency_penalty,
            "logit_bias": {str(token): bias for token, bias in o.logit_bias}}
    return {name: value for name, value in sent.items() if value}


def _scores(chunk: Any, top: int | None, url: str) -> tuple[TokenScore, ...]:
    """The scored tokens of a streamed chunk (none unless asked); asked, a chunk with text but none is an error."""
    if top is None or not chunk.choices:
        return ()
    found = chunk.choices[0].logprobs
    if found is None or found.content is None:
        if chunk.choices[0].delta.content:
            msg = f"the chat server at {url} sends no log-probabilities; ask a server that does (vLLM, llama.cpp, OpenAI)"
            raise InputError(msg)
        return ()
    return tuple(_score(t, tuple(_score(a) for a in t.top_logprobs or ())) for t in found.content)


def _score(sent: Any, top: tuple[TokenScore, ...] = ()) -> TokenScore:
    """A token as the openai client reads it from the server, as a TokenScore."""
    return TokenScore(sent.token, None if sent.bytes is None else tuple(sent.bytes), sent.logprob, top)
