"""Ollama's API, so that Ollama's clients (its Python and JavaScript libraries, Open WebUI, editor plugins) talk to
a latentstack server as to Ollama: ``/api/chat``, ``/api/generate``, ``/api/embed``, ``/api/embeddings`` and
``/api/version`` here, ``/api/tags``, ``/api/show``, ``/api/ps`` and ``/api/pull`` in ollama_models.py.

Answers stream as Ollama's do, a JSON object a line, unless ``"stream": false``; errors are
``{"error": "..."}``. Of a request's ``options``, ``num_predict`` (left out or -1: the
server's cap of 1024 tokens), ``temperature`` (left out: 0, greedy, as the other routes),
``top_p``, ``top_k``, ``min_p``, ``seed``, ``stop``, ``repeat_penalty``, ``presence_penalty`` and
``frequency_penalty`` are honoured; the others (``num_ctx``, ``typical_p``...) are ignored, as
Ollama ignores those a model does not use; ``logprobs`` and ``top_logprobs`` score each token
(``http.logprobs``); ``format`` (``"json"`` or a JSON schema) holds the answer to it; ``tools``
on /api/chat are left to the model to call or not, as OpenAI's ``tool_choice: "auto"``
(``http.tools``); ``raw`` on /api/generate continues the prompt as the model's own text,
without the chat template. What cannot be honoured (``think``, images, ``suffix``, a
``context``, tools on /api/generate) is a 400 naming it. A model name may carry Ollama's
``:latest`` tag.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations (Request) at definition.

import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from latentstack.http import fields as f
from latentstack.http.answers import Shown, generating, prompt_count, written
from latentstack.http.chat_reply import tool_deltas
from latentstack.http.errors import HttpError, bad_request, stream_failure
from latentstack.http.logprobs import chat_content, chat_scoring
from latentstack.http.ollama_models import add_ollama_model_routes, model_name
from latentstack.http.state import Served
from latentstack.http.streaming import Pieces, in_turn
from latentstack.http.tools import ToolUse, held_to_tools, tool_use
from latentstack.interfaces.generator import Finish, ScoredPiece, TokenScore

REFUSED = {"tools": "tools", "think": "thinking", "images": "images",
           "suffix": "a suffix (fill-in-the-middle)",
           "context": "a context of token ids (send the conversation to /api/chat)", "template": "a template"}


def add_ollama_routes(app: Any, served: Served) -> None:
    """Attach Ollama's routes to ``app``."""
    from fastapi import Request

    add_ollama_model_routes(app, served)

    @app.get("/api/version", summary="Ollama: the server's version")
    async def version() -> Any:
        return {"version": app.version}

    @app.post("/api/chat", summary="Ollama chat: messages answered, streamed as JSON lines unless stream is false")
    async def chat(request: Request) -> Any:
        body = await f.read_json(request)
        _refuse(body, {k: v for k, v in REFUSED.items() if k not in ("suffix", "context", "template", "tools")})
        if body.get("messages") == []:  # Ollama's way to load a chat model: answered once it is loaded
            return {"model": _chat(served, body)[0], "created_at": _now(), "done": True, "done_reason": "load",
                    "message": {"role": "assistant", "content": ""}}
        return await _answer(request, served, body, f.messages(body), "message")

    @app.post("/api/generate", summary="Ollama generate: a prompt (and system) answered through the chat template")
    async def generate(request: Request) -> Any:
        body = await f.read_json(request)
        _refuse(body, REFUSED)
        prompt, system = f.field(body, "prompt", str, ""), f.field(body, "system", str, "")
        if not prompt.strip():  # Ollama's way to load a model: answered once it is loaded
            model = _chat(served, body)[0]
            return {"model": model, "created_at": _now(), "response": "", "done": True, "done_reason": "load"}
        if f.field(body, "raw", bool, False):
            if system:
                raise bad_request("'system' with 'raw': a raw prompt has no template to put it in; write it into "
                                  "the prompt", "system")
            return await _answer(request, served, body, prompt, "response")
        messages = [*([{"role": "system", "content": system}] if system else []), {"role": "user", "content": prompt}]
        return await _answer(request, served, body, messages, "response")

    @app.post("/api/embed", summary="Ollama embed: unit vectors of one text or a list")
    async def embed(request: Request) -> Any:
        body = await f.read_json(request)
        name, batcher = served.batcher(model_name(f.field(body, "model", str)))
        _check_embed(body, name, batcher.dim)
        start = time.perf_counter_ns()
        vectors, tokens = await batcher.embed_counted(f.texts(body))
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)  # Ollama's are unit length
        return {"model": name, "embeddings": np.asarray(unit, dtype=np.float64).tolist(),
                "total_duration": time.perf_counter_ns() - start, "load_duration": 0, "prompt_eval_count": tokens}

    @app.post("/api/embeddings", summary="Ollama's older embeddings route: one prompt's vector")
    async def embeddings(request: Request) -> Any:
        body = await f.read_json(request)
        _, batcher = served.batcher(model_name(f.field(body, "model", str)))
        vectors, _ = await batcher.embed_counted(f.texts(body, "prompt"))
        return {"embedding": np.asarray(vectors[0], dtype=np.float64).tolist()}


def _check_embed(body: dict[str, Any], name: str, dim: int) -> None:
    """A 400 for what an embed request asks that cannot be honoured: no cut, or another length."""
    if f.field(body, "truncate", bool, True) is False:
        raise bad_request("'truncate': false is not supported: texts are cut to the model's window", "truncate")
    if f.field(body, "dimensions", int, dim) != dim:
        raise bad_request(f"'dimensions': {name} gives {dim}-dimensional vectors only", "dimensions")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _refuse(body: dict[str, Any], refused: dict[str, str]) -> None:
    """A 400 for a field asking what cannot be honoured (an empty value counts as not given)."""
    for name, what in refused.items():
        if body.get(name) not in (None, "", [], False):
            raise bad_request(f"'{name}': {what} is not supported by this server; leave it out", name)
    for i, m in enumerate(body.get("messages") or []):
        if isinstance(m, dict) and m.get("images"):
            raise bad_request(f"'messages'[{i}] holds images, which this server cannot read", "messages")


def _chat(served: Served, body: dict[str, Any]) -> tuple[str, str]:
    """The chat model's name and the adapter it asks for."""
    model = model_name(f.field(body, "model", str, "")) or served.chat_model()
    return model, served.adapter_for(model)


def _options(body: dict[str, Any]) -> Any:
    """The GenerationConfig of Ollama's ``options`` (its names), read as the OpenAI routes read theirs."""
    options = f.field(body, "options", dict, {})
    predict = options.get("num_predict")
    mapped = {"max_tokens": f.MAX_TOKENS if predict in (None, -1, -2) else predict,
              "temperature": options.get("temperature"), "top_p": options.get("top_p"), "seed": options.get("seed"),
              "top_k": options.get("top_k"), "min_p": options.get("min_p"),
              "stop": options.get("stop"), "repetition_penalty": options.get("repeat_penalty"),
              "presence_penalty": options.get("presence_penalty"),
              "frequency_penalty": options.get("frequency_penalty"),
              "response_format": _format(body)}
    try:
        return f.generation({k: v for k, v in mapped.items() if v is not None})
    except HttpError as exc:  # the option named as Ollama names it
        ours = {"'max_tokens'": "'num_predict'", "'repetition_penalty'": "'repeat_penalty'"}
        message = next((exc.message.replace(a, b) for a, b in ours.items() if a in exc.message), exc.message)
        raise bad_request(f"'options': {message}", "options") from None


def _format(body: dict[str, Any]) -> dict[str, Any] | None:
    """Ollama's ``format`` as OpenAI's ``response_format``: "json" is any JSON object, an object a JSON schema."""
    value = body.get("format")
    if value in (None, ""):
        return None
    if value == "json":
        return {"type": "json_object"}
    if isinstance(value, dict):
        return {"type": "json_schema", "json_schema": {"schema": value}}
    raise bad_request("'format' is \"json\" or a JSON schema (an object)", "format")


async def _answer(request: Any, served: Served, body: dict[str, Any], messages: list[dict[str, str]] | str,
                  key: str) -> Any:
    """The answer to ``messages`` (a raw prompt when a str), streamed as JSON lines or whole, under ``key`` (chat's
    ``message``, generate's ``response``), its last object with Ollama's counts and durations."""
    from fastapi.responses import StreamingResponse

    model, adapter = _chat(served, body)
    options, gen, scored = _options(body), served.generator_instance(), chat_scoring(body)
    tools = tool_use({"tools": body["tools"]}) if body.get("tools") else None
    if tools is not None and not isinstance(messages, str):
        messages, options = tools.prompt(messages), held_to_tools(options, tools, scored, "format")
    start = time.perf_counter_ns()
    if isinstance(messages, str):  # raw: its token ids, continued without the template
        prompt: Any = tuple(await in_turn(lambda: gen.raw_tokens(messages), served.gen_lock))
        prompt_tokens: Callable[[Finish], int] = lambda _: len(prompt)  # noqa: E731
    else:
        prompt, prompt_tokens = messages, prompt_count(gen, messages)
    pieces = await generating(gen, adapter, prompt, options, served.gen_lock, scored)
    first = time.perf_counter_ns()
    turn = Turn(model, key, scored is not None, prompt_tokens, (start, first))
    if f.field(body, "stream", bool, True):
        events = turn.events(pieces) if tools is None else turn.tool_events(pieces, tools)
        return StreamingResponse(_lines(events), media_type="application/x-ndjson")
    answer = written(await pieces.collect(request.is_disconnected))
    if tools is not None:
        return {**turn.said(_message(tools.message(answer.text))), **turn.last(answer.finish)}
    return {**turn.piece(answer.text, answer.tokens), **turn.last(answer.finish)}


def _message(openai: dict[str, Any]) -> dict[str, Any]:
    """Ollama's assistant message of OpenAI's: a tool call's arguments an object, content "" beside it."""
    calls = [{"function": {"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}}
             for c in openai.get("tool_calls") or []]
    return {"role": "assistant", "content": openai.get("content") or "", **({"tool_calls": calls} if calls else {})}


async def _lines(events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    try:
        async for event in events:
            yield json.dumps(event) + "\n"
    except Exception as exc:  # the stream has begun: the error is its last line, as Ollama sends it
        yield json.dumps({"error": stream_failure(exc).message}) + "\n"


class Turn:
    """The JSON objects of one Ollama answer."""

    def __init__(self, model: str, key: str, scored: bool, prompt_tokens: Callable[[Finish], int],
                 times: tuple[int, int]) -> None:
        self.model, self.key, self.scored = model, key, scored
        self.prompt_tokens, (self.start, self.first) = prompt_tokens, times

    def piece(self, text: str, tokens: list[TokenScore] | None = None) -> dict[str, Any]:
        """An object holding a piece of the answer (or all of it), with its tokens' log-probabilities when asked
        for."""
        said = {"role": "assistant", "content": text} if self.key == "message" else text
        scores = {"logprobs": chat_content(tokens)} if self.scored and tokens is not None else {}
        return {"model": self.model, "created_at": _now(), self.key: said, "done": False, **scores}

    def last(self, finish: Finish) -> dict[str, Any]:
        """The closing fields: why it stopped, token counts (the prompt's whole, and those a kept KV cache held, not
        read again, as Ollama counts them) and durations (nanoseconds)."""
        end, prompt = time.perf_counter_ns(), self.prompt_tokens(finish)
        return {"done": True, "done_reason": finish.reason,
                "total_duration": end - self.start, "load_duration": 0, "prompt_eval_count": prompt,
                "prompt_eval_cached_count": min(prompt, finish.cached),
                "prompt_eval_duration": self.first - self.start, "eval_count": finish.tokens,
                "eval_duration": end - self.first}

    def said(self, message: dict[str, Any]) -> dict[str, Any]:
        """An object holding a whole chat message (a tool call's included)."""
        return {"model": self.model, "created_at": _now(), "message": message, "done": False}

    async def tool_events(self, pieces: Pieces[ScoredPiece], tools: ToolUse) -> AsyncIterator[dict[str, Any]]:
        """A reply in text as it is written, or the tool call once written; then the closing fields."""
        shown = Shown(pieces)
        async for delta, _ in tool_deltas(shown, tools):
            yield self.said(_message(delta))
        yield {**self.piece(""), **self.last(shown.finish)}

    async def events(self, pieces: Pieces[ScoredPiece]) -> AsyncIterator[dict[str, Any]]:
        """A piece an object, then an empty one with the closing fields."""
        shown = Shown(pieces)
        async for item in shown:
            yield self.piece(item.text, list(item.tokens))
        yield {**self.piece(""), **self.last(shown.finish)}
