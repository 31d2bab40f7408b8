"""OpenAI batch files answered offline (vLLM's ``run-batch``): each line's request sent through the server's own
routes in this process (no port, no network), the answers written as OpenAI's batch output lines.

An input line is ``{"custom_id", "method": "POST", "url", "body"}``, ``url`` one of ``URLS``. The whole file is
checked before any model loads (JSON, the four fields, each custom_id once, no ``stream``), so a mistake is one
line naming its line. The requests are sent ``concurrency`` at a time, so a generator that decodes several answers
together does, and the embedder batches what arrives together. The output holds a line per request, in the
input's order: ``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error": null}``, a refused
request with its 4xx status and its error body (what OpenAI's error file holds), the file written whole at the end
(the answers kept meanwhile by ``batch_kept``, so a stopped batch goes on where it stopped).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from latentstack.errors import InputError
from latentstack.http.state import Served

#: The routes a batch line may name: OpenAI's batch endpoints, and the server's own search, ask and classify.
URLS = ("/v1/chat/completions", "/v1/responses", "/v1/completions", "/v1/embeddings", "/v1/search", "/v1/ask",
        "/v1/classify")
GENERATING = ("/v1/chat/completions", "/v1/responses", "/v1/completions", "/v1/ask")
FIELDS = ("custom_id", "method", "url", "body")


@attrs.frozen
class BatchRequest:
    """One line of a batch file."""

    custom_id: str
    url: str
    body: dict[str, Any]


def read_requests(path: str | Path) -> list[BatchRequest]:
    """The requests of an OpenAI batch file (JSONL), every line checked; a bad one is an InputError naming it."""
    from latentstack.textfile import jsonl_rows

    requests: list[BatchRequest] = []
    lines: dict[str, str] = {}
    for where, value in jsonl_rows(path):
        request = _request(where, value)
        if request.custom_id in lines:
            msg = f"{where}: custom_id {request.custom_id!r} is also {lines[request.custom_id]}'s: give each request its own"
            raise InputError(msg)
        lines[request.custom_id] = where
        requests.append(request)
    if not requests:
        msg = f"{path} holds no requests: write one JSON object a line, with {', '.join(FIELDS)}"
        raise InputError(msg)
    return requests


def _request(where: str, value: object) -> BatchRequest:
    """One line's request, or an InputError that says what is wrong with it."""
    if not isinstance(value, dict) or any(key not in value for key in FIELDS):
        msg = f"{where}: a batch line is a JSON object with {', '.join(FIELDS)} (OpenAI's batch input)"
        raise InputError(msg)
    custom_id, method, url, body = (value[key] for key in FIELDS)
    if not isinstance(custom_id, str) or not custom_id:
        msg = f"{where}: custom_id must be a non-empty string, got {custom_id!r:.40}"
        raise InputError(msg)
    if method != "POST":
        msg = f"{where}: method must be POST, got {method!r:.40}"
        raise InputError(msg)
    if url not in URLS:
        msg = f"{where}: url {url!r:.60} is not one this batch answers; give one of {', '.join(URLS)}"
        raise InputError(msg)
    if not isinstance(body, dict):
        msg = f"{where}: body must be a JSON object (the request's), got {type(body).__name__}"
        raise InputError(msg)
    if body.get("stream"):
        msg = f"{where}: a batch answers each request whole: leave 'stream' out"
        raise InputError(msg)
    return BatchRequest(custom_id, url, body)


def answer_batch(served: Served, requests: list[BatchRequest], concurrency: int,
                 done: Callable[[BatchRequest, dict[str, Any]], None] = lambda _r, _l: None) -> list[dict[str, Any]]:
    """Each request's output line, in order, ``concurrency`` requests at a time through ``served``'s routes;
    ``done(request, line)`` is called as each is answered."""
    from latentstack.http.app import build_app

    if served.generator is not None and any(r.url in GENERATING for r in requests):
        served.generator_instance()  # loaded before the first request, as a server warms it
    return asyncio.run(_answers(build_app(served), requests, concurrency, done))


async def _answers(app: Any, requests: list[BatchRequest], concurrency: int,
                   done: Callable[[BatchRequest, dict[str, Any]], None]) -> list[dict[str, Any]]:
    import httpx

    turns = asyncio.Semaphore(concurrency)
    # A fault of the server's is that request's 500 line, as a server answers it; the batch goes on.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://batch", timeout=None) as client:

        async def one(request: BatchRequest) -> dict[str, Any]:
            async with turns:
                reply = await client.post(request.url, json=request.body)
            line = output_line(request.custom_id, reply.status_code, reply.json())
            done(request, line)
            return line

        return list(await asyncio.gather(*(one(r) for r in requests)))


def output_line(custom_id: str, status: int, body: Any) -> dict[str, Any]:
    """OpenAI's batch output line of one answered request."""
    return {"id": f"batch_req_{uuid.uuid4().hex}", "custom_id": custom_id,
            "response": {"status_code": status, "request_id": f"req_{uuid.uuid4().hex}", "body": body}, "error": None}


def write_lines(out: str | Path, lines: list[dict[str, Any]]) -> None:
    """The output lines written to ``out`` as JSONL, atomically."""
    from latentstack.atomic import atomic_file

    with atomic_file(out) as tmp:
        tmp.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
