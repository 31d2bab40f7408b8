"""What Ollama's clients ask about models: ``/api/tags`` (those served), ``/api/show`` (one of them), ``/api/ps``
(those loaded now) and ``/api/pull`` (a served model is there already; nothing is downloaded).

A model loaded by the server stays loaded until it stops, so ``/api/ps`` gives each an
``expires_at`` far ahead, as Ollama does for ``keep_alive: -1``. Sizes are not measured (0).
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations (Request) at definition.

import json
from datetime import UTC, datetime
from typing import Any

from latentstack.http import fields as f
from latentstack.http.errors import HttpError
from latentstack.http.state import Served

#: When a loaded model would be unloaded: never while the server runs (Go's time parses year 9999).
FOREVER = "9999-12-31T23:59:59Z"


def add_ollama_model_routes(app: Any, served: Served) -> None:
    """Attach Ollama's model routes to ``app``."""
    from fastapi import Request
    from fastapi.responses import StreamingResponse

    started = datetime.now(UTC).isoformat()

    @app.get("/api/tags", summary="Ollama: the chat and embedding models served")
    async def tags() -> Any:
        return {"models": [_tag(m["id"], m["kind"], started) for m in served_models(served)]}

    @app.post("/api/show", summary="Ollama: one served model's details and capabilities")
    async def show(request: Request) -> Any:
        found = _served(served, model_name(f.field(await f.read_json(request), "model", str)))
        return {**{k: "" for k in ("modelfile", "parameters", "template")}, "modified_at": started,
                "details": _details(), "model_info": {}, "capabilities": [_capability(found["kind"])]}

    @app.get("/api/ps", summary="Ollama: the chat and embedding models loaded now (kept until the server stops)")
    async def running() -> Any:
        return {"models": [{**_tag(name, kind, started), "expires_at": FOREVER, "size_vram": 0,
                            **({"context_length": window} if window else {})} for name, kind, window in _loaded(served)]}

    @app.post("/api/pull", summary="Ollama pull: a served model is there already; this server downloads nothing")
    async def pull(request: Request) -> Any:
        body = await f.read_json(request)
        name = model_name(f.field(body, "model", str, "") or f.field(body, "name", str))
        _served(served, name, "is not served, and this server downloads no model: install it (`latentstack models` "
                              "says how) and start serve with it")
        if f.field(body, "stream", bool, True):
            return StreamingResponse(iter([json.dumps({"status": "success"}) + "\n"]),
                                     media_type="application/x-ndjson")
        return {"status": "success"}


def model_name(model: str) -> str:
    """A model name without Ollama's default ``:latest`` tag."""
    return model.removesuffix(":latest")


def served_models(served: Served) -> list[dict[str, Any]]:
    """The chat and embedding models of ``served.models()``."""
    return [m for m in served.models() if m["kind"] in ("chat", "embedder", "embedding model")]


def _served(served: Served, name: str, missing: str = "not found") -> dict[str, Any]:
    """The served model ``name``, or a 404 naming it."""
    found = next((m for m in served_models(served) if m["id"] == name), None)
    if found is None:
        raise HttpError(404, f"model {name!r} {missing}; GET /api/tags lists the ones served")
    return found


def _loaded(served: Served) -> list[tuple[str, str, int | None]]:
    """The served chat and embedding models loaded now: name, kind and (the chat model's) context window."""
    rows = []
    for m in served_models(served):
        if m["kind"] == "chat":
            gen = served.loaded.get("generator")
            if gen is not None and m["id"] == served.chat_model():
                rows.append((m["id"], m["kind"], gen.context_window))
        elif any(k == f"embedder:{m['id']}" or k.startswith(f"embedder:{m['id']}:") for k in served.loaded):
            rows.append((m["id"], m["kind"], None))
    return rows


def _capability(kind: str) -> str:
    return "completion" if kind == "chat" else "embedding"


def _details() -> dict[str, Any]:
    return {"format": "safetensors", "family": "", "families": None, "parameter_size": "", "quantization_level": ""}


def _tag(name: str, kind: str, modified: str) -> dict[str, Any]:
    return {"name": name, "model": name, "modified_at": modified, "size": 0, "digest": "", "details": _details(),
            "capabilities": [_capability(kind)]}
