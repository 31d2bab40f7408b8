"""The OpenAI-compatible routes: ``GET /v1/models``, ``POST /v1/embeddings``, ``POST /v1/chat/completions``
(``POST /v1/completions`` is ``completions``')."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations (Request) at definition.

import base64
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import numpy as np

from latentstack.http import fields as f
from latentstack.http.errors import HttpError, bad_request
from latentstack.http.logprobs import chat_content, chat_scoring
from latentstack.http.state import Served
from latentstack.http.streaming import CUT_SHORT, Pieces, Written, generating, sse, usage, written
from latentstack.http.tools import Forced, forced_call
from latentstack.interfaces.generator import Finish, TokenScore

MAX_CHOICES = 8  # choices of one chat request (``n``), each generated in turn


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
        messages, options, scored, forced, n = _chat_request(body)
        usage = f.field(f.field(body, "stream_options", dict, {}), "include_usage", bool, False)
        gen = served.generator_instance()

        def start(asked: Any) -> Awaitable[Pieces]:
            return generating(gen, adapter, messages, asked, served.gen_lock, scored)

        pieces = await start(options)
        reply = Reply(model, scored is not None, forced)
        if f.field(body, "stream", bool, False):
            return sse(reply.chunks(pieces, gen.count_prompt_tokens(messages) if usage else None))
        answers = await _choices(pieces, start, options, n, request.is_disconnected)
        return JSONResponse(reply.completion(answers, gen.count_prompt_tokens(messages)))

    add_extra_routes(app, served)


def _chat_request(body: dict[str, Any]) -> tuple[list[dict[str, str]], Any, int | None, Forced | None, int]:
    """A chat request's messages, options, log-probabilities asked for, forced tool call and number of choices."""
    messages, options, scored = f.messages(body), f.generation(body), chat_scoring(body)
    forced = forced_call(body)
    if forced is not None:
        messages, options = forced.prompt(messages), _forcing(options, forced, scored)
    n = f.bounded(body, "n", int, 1, MAX_CHOICES, 1)
    if n > 1 and f.field(body, "stream", bool, False):
        raise bad_request("'n' above 1 is answered whole: leave out 'stream', or ask for one choice", "n")
    return messages, options, scored, forced, n


async def _choices(first: Pieces, start: Callable[[Any], Awaitable[Pieces]], options: Any, n: int,
                   gone: Callable[[], Awaitable[bool]]) -> list[Written]:
    """``n`` answers, ``first``'s and the others generated in turn, each further one seeded after ``options.seed``
    (reproducible) or drawn; a client that gave up stops the one being written."""
    answers = [written(await first.collect(gone))]
    for i in range(1, n):
        seed = None if options.seed is None else options.seed + i
        answers.append(written(await (await start(attrs.evolve(options, seed=seed))).collect(gone)))
    return answers


def _forcing(options: Any, forced: Forced, scored: int | None) -> Any:
    """``options`` holding the answer to the forced call's schema; a 400 beside logprobs or a response_format."""
    if scored is not None:
        raise bad_request("'logprobs' with a forced tool call is not supported: ask for one or the other", "logprobs")
    if options.json_schema:
        raise bad_request("'response_format' and a forced tool call both shape the answer: send one of them",
                          "response_format")
    return attrs.evolve(options, json_schema=forced.schema)


def _encode(vector: np.ndarray, encoding: str) -> Any:
    """A vector as OpenAI sends it: a list of floats, or base64 of little-endian float32."""
    if encoding == "base64":
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
    return np.asarray(vector, dtype=np.float64).tolist()


class Reply:
    """The OpenAI response bodies of one chat completion."""

    def __init__(self, model: str, scored: bool, forced: Forced | None = None) -> None:
        self.id, self.created, self.model = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time()), model
        self.scored, self.forced = scored, forced

    def finish_reason(self, finish: Finish) -> str:
        """How the answer ended ('length' or 'stop'; 'tool_calls' for a finished forced call)."""
        return "tool_calls" if self.forced is not None and finish.reason == "stop" else finish.reason

    def _scores(self, tokens: list[TokenScore]) -> dict[str, Any] | None:
        return {"content": chat_content(tokens), "refusal": None} if self.scored else None

    def _chunk(self, delta: dict[str, Any], finish: str | None, logprobs: Any = None) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}]}

    async def chunks(self, pieces: Pieces, prompt_tokens: int | None = None) -> AsyncIterator[dict[str, Any]]:
        """A role chunk, one chunk a piece (with its tokens' log-probabilities, when asked), then the finish reason;
        with ``prompt_tokens`` (the request's ``stream_options.include_usage``) a last chunk with no choices and the
        token usage, as OpenAI sends it."""
        yield self._chunk({"role": "assistant", "content": ""}, None)
        if self.forced is not None:  # the call is sent whole once written: its name may be its last part
            answer = written([item async for item in pieces])
            finish = answer.finish
            yield self._chunk({"tool_calls": [{"index": 0, **self.forced.call(answer.text)}]}, None)
        else:
            finish = CUT_SHORT
            async for item in pieces:
                finish = item.finish or finish
                if item.text or item.tokens:
                    yield self._chunk({"content": item.text}, None, self._scores(list(item.tokens)))
        yield self._chunk({}, self.finish_reason(finish))
        if prompt_tokens is not None:
            yield {**self._chunk({}, None), "choices": [], "usage": usage([finish], prompt_tokens)}

    def completion(self, answers: list[Written], prompt_tokens: int) -> dict[str, Any]:
        """The whole answers at once, a choice each (with their tokens' log-probabilities when asked for), with the
        token usage of all."""
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                "choices": [self._choice(i, answer) for i, answer in enumerate(answers)],
                "usage": usage([a.finish for a in answers], prompt_tokens)}

    def _choice(self, index: int, answer: Written) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": answer.text}
        if self.forced is not None:
            message = {"role": "assistant", "content": None, "tool_calls": [self.forced.call(answer.text)]}
        return {"index": index, "message": message, "logprobs": self._scores(answer.tokens),
                "finish_reason": self.finish_reason(answer.finish)}
