"""The ASGI app: OpenAI-compatible routes, plus search, ask and classify, over one ``Served`` state.

FastAPI is imported when the app is built, never with ``latentstack``. Bodies are read as
JSON and checked field by field (latentstack.http.fields), so every mistake is a 4xx in
the OpenAI error shape that names the field; an unexpected error is a 500 in the same
shape, and the server keeps serving.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from latentstack.errors import LatentstackError
from latentstack.http.errors import HttpError, from_latentstack, internal, too_large
from latentstack.http.fields import MAX_BODY
from latentstack.http.state import Served


def build_app(served: Served, *, api_key: str = "", cors_origins: tuple[str, ...] = ()) -> Any:
    """The FastAPI app serving ``served``; with ``api_key``, every route wants ``Authorization: Bearer KEY``."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    from latentstack.http.completions import add_completion_route
    from latentstack.http.ollama import add_ollama_routes
    from latentstack.http.responses import add_responses_route
    from latentstack.http.routes import add_routes
    from latentstack.http.tokens import add_token_routes

    app = FastAPI(title="latentstack", summary="Embeddings, chat, search, ask and classify over HTTP",
                  version=_version())

    @app.exception_handler(HttpError)
    async def http_error(request: Request, exc: HttpError) -> Any:
        return JSONResponse(_shaped(exc, request.url.path), status_code=exc.status)

    @app.exception_handler(LatentstackError)
    async def latentstack_error(request: Request, exc: LatentstackError) -> Any:
        err = from_latentstack(exc)
        return JSONResponse(_shaped(err, request.url.path), status_code=err.status)

    from starlette.exceptions import HTTPException

    @app.exception_handler(HTTPException)
    async def no_route(request: Request, exc: HTTPException) -> Any:  # FastAPI's own 404 and 405, in OpenAI's shape
        err = HttpError(exc.status_code, f"{exc.detail}: {request.method} {request.url.path}; the routes are listed at "
                        "/docs", code="not_found" if exc.status_code == 404 else None)
        return JSONResponse(_shaped(err, request.url.path), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Any:
        return JSONResponse(_shaped(internal(exc), request.url.path), status_code=500)

    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])

    @app.get("/health", summary="200 while the server answers; no API key needed (for load balancers and probes)")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    add_routes(app, served)
    add_completion_route(app, served)
    add_responses_route(app, served)
    add_token_routes(app, served)
    add_ollama_routes(app, served)
    return Guard(app, api_key)


class Guard:
    """Pure ASGI middleware in front of the app: the API key (on every route but ``GET /health``) and the declared
    body size, checked on every request.

    (FastAPI's decorator middleware costs about a millisecond a request; this costs nothing measurable.)
    """

    def __init__(self, app: Any, api_key: str) -> None:
        self.app, self.api_key = app, api_key

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            try:
                if not _open(scope):
                    _check_auth(headers, self.api_key)
                _check_size(headers)
            except HttpError as exc:
                body = json.dumps(_shaped(exc, scope.get("path", ""))).encode()
                await send({"type": "http.response.start", "status": exc.status,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _shaped(err: HttpError, path: str) -> dict[str, Any]:
    """The error body a route's clients parse: Ollama's ``{"error": "..."}`` under ``/api/``, else OpenAI's."""
    return {"error": err.message} if path.startswith("/api/") else err.body()


def _open(scope: dict[str, Any]) -> bool:
    """A browser's CORS preflight and a health probe carry no credentials."""
    return scope.get("method") == "OPTIONS" or (scope.get("method") == "GET" and scope.get("path") == "/health")


def _version() -> str:
    from importlib.metadata import version

    return version("latentstack")


def _check_auth(headers: dict[str, str], api_key: str) -> None:
    if not api_key:
        return
    given = headers.get("authorization", "")
    if not secrets.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
        raise HttpError(401, "missing or wrong API key: send 'Authorization: Bearer KEY'", kind="authentication_error",
                        code="invalid_api_key")


def _check_size(headers: dict[str, str]) -> None:
    length = headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise too_large(MAX_BODY)
