"""The OpenAI-compatible routes: ``GET /v1/models``, ``POST /v1/embeddings``, ``POST /v1/chat/completions``
(``POST /v1/completions`` is ``completions``')."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations (Request) at definition.

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from latentstack.http import fields as f
from latentstack.http.answers import Written, generating, generating_together, prompt_count, seeded, written
from latentstack.http.chat_reply import Reply
from latentstack.http.errors import HttpError, bad_request
from latentstack.http.logprobs import chat_scoring
from latentstack.http.state import Served
from latentstack.http.streaming import Pieces, sse
from latentstack.http.tools import ToolUse, held_to_tools, tool_use


def add_routes(app: Any, served: Served) -> None:
    """Attach every route to ``app``."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    from latentstack.http.routes_extra import add_extra_routes

    @app.get("/v1/models", summary="Embedding models, chat models (with adapters), indexes and classifiers")
    async def models() -> Any:
        return {"object": "list", "data": served.models()}

    @app.get("/v1/models/{model:path}", summary="One of the models /v1/models lists (OpenAI's models.retrieve)")
    async def model(model: str) -> Any:
        found = [m for m in served.models() if m["id"] == model]
        if not found:
            raise HttpError(404, f"unknown model {model!r}; GET /v1/models lists the ones served", code="model_not_found")
        return found[0]

    @app.post("/v1/embeddings", summary="OpenAI embeddings: one vector per input text (float or base64)")
    async def embeddings(request: Request) -> Any:
        body = await f.read_json(request)
        kind = f.field(body, "input_type", str, "")  # not OpenAI's: the model's query or document prompt, if any
        if kind not in ("", "query", "document"):
            raise bad_request("'input_type' is 'query' or 'document' (the texts get the model's prompt for them)",
                              "input_type")
        name, batcher = served.batcher(f.field(body, "model", str), kind)
        texts = f.texts(body)
        encoding = f.field(body, "encoding_format", str, "float")
        if encoding not in ("float", "base64"):
            raise bad_request("'encoding_format' must be 'float' or 'base64'", "encoding_format")
        dimensions = f.field(body, "dimensions", int, batcher.dim)
        if dimensions != batcher.dim:
            raise bad_request(f"'dimensions': {name} gives {batcher.dim}-dimensional vectors and cannot shorten them; "
                              "leave it out", "dimensions")
        vectors, tokens = await batcher.embed_counted(texts)
        data = [{"object": "embedding", "index": i, "embedding": _encode(v, encoding)} for i, v in enumerate(vectors)]
        return JSONResponse({"object": "list", "data": data, "model": name,  # plain json.dumps: no per-float encoder
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    @app.post("/v1/chat/completions", summary="OpenAI chat completions, streamed as server-sent events on request")
    async def chat(request: Request) -> Any:
        body = await f.read_json(request)
        model = f.field(body, "model", str, "") or served.chat_model()
        adapter = served.adapter_for(model)
        f.unsupported(body, f.CHAT_ONLY)
        messages, options, scored, tools, n = chat_request(body)
        usage = f.field(f.field(body, "stream_options", dict, {}), "include_usage", bool, False)
        gen = served.generator_instance()

        reply = Reply(model, scored is not None, tools)
        if n > 1:
            choices = await generating_together(gen, adapter, messages, seeded(options, n), served.gen_lock, scored)
        else:
            choices = [await generating(gen, adapter, messages, options, served.gen_lock, scored)]
        if f.field(body, "stream", bool, False):
            return sse(reply.chunks(choices, prompt_count(gen, messages) if usage else None))
        answers = await _choices(choices, request.is_disconnected)
        return JSONResponse(reply.completion(answers, prompt_count(gen, messages)))

    add_extra_routes(app, served)


def chat_request(body: dict[str, Any]) -> tuple[list[dict[str, str]], Any, int | None, ToolUse | None, int]:
    """A chat request's messages, options, log-probabilities asked for, tools and number of choices."""
    messages, options, scored = f.messages(body), f.generation(body), chat_scoring(body)
    tools = tool_use(body)
    if tools is not None:
        messages, options = tools.prompt(messages), held_to_tools(options, tools, scored)
    return messages, options, scored, tools, f.bounded(body, "n", int, 1, f.MAX_CHOICES, 1)


async def _choices(choices: list[Pieces], gone: Callable[[], Awaitable[bool]]) -> list[Written]:
    """The choices' whole answers; a client that gave up stops them all."""
    answers = []
    try:
        for pieces in choices:
            answers.append(written(await pieces.collect(gone)))
    finally:
        for pieces in choices:  # those not read to their end stop at their next piece
            pieces.cancelled.set()
    return answers


def _encode(vector: np.ndarray, encoding: str) -> Any:
    """A vector as OpenAI sends it: a list of floats, or base64 of little-endian float32."""
    if encoding == "base64":
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
    return np.asarray(vector, dtype=np.float64).tolist()
