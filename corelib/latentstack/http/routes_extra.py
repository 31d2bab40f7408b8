"""latentstack's own routes: ``POST /v1/search``, ``POST /v1/ask`` (streamed on request), ``POST /v1/classify``."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations (Request) at definition.

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import attrs

from latentstack.http import fields as f
from latentstack.http.state import Served
from latentstack.http.streaming import Pieces, sse


def add_extra_routes(app: Any, served: Served) -> None:
    """Attach search, ask and classify to ``app``."""
    from fastapi import Request


    @app.post("/v1/search", summary="Search a served index: {index, query, k, hybrid, fusion, where, documents}, or "
                                    "the documents like a stored one: {index, like, k, where}")
    async def search(request: Request) -> Any:
        body = await f.read_json(request)
        f.only(body, "/v1/search", ("index", "query", "k", "hybrid", "fusion", "where", "documents", "like"))
        collection = await asyncio.to_thread(served.collection, f.one_of(body, "index", served.indexes))
        k, where = f.bounded(body, "k", int, 1, f.MAX_K, 10), f.field(body, "where", dict, None)
        run = _similar(body, collection, k, where) if "like" in body else _search(body, served, collection, k, where)

        def locked() -> tuple[Any, str | None]:
            with served.index_lock:
                hits = run()
                return hits, collection.no_match_reason(where) if where and not hits else None

        hits, why = await asyncio.to_thread(locked)  # why: a filter no document meets (a mistyped value), said
        return {"object": "list", "data": [h.to_dict() for h in hits], **({"no_match": why} if why else {})}

    @app.post("/v1/ask", summary="Answer from a served index with citations: {index, question, k, hybrid, min_score, where, stream}")
    async def ask(request: Request) -> Any:
        body = await f.read_json(request)
        f.only(body, "/v1/ask", ("index", "question", "k", "hybrid", "min_score", "where", "max_tokens", "model", "stream"))
        pipeline = await asyncio.to_thread(_pipeline, served, body)  # an index saved again is read on a thread
        question, where = f.field(body, "question", str), f.field(body, "where", dict, None)
        answer: dict[str, Any] = {}

        adapter = served.adapter_for(f.field(body, "model", str, ""))

        def make() -> Iterator[str]:
            pipeline.generator.use_adapter(adapter)
            with served.index_lock:
                prepared = pipeline.prepare(question, where)
            stream = pipeline.answer_stream(prepared)
            yield from stream
            answer.update(stream.finish().to_dict())
            yield ""  # the answer is ready once this empty piece arrives

        pieces = Pieces(make, served.gen_lock, adapter)
        await pieces.start()
        if f.field(body, "stream", bool, False):
            return sse(_ask_events(pieces, answer))
        await pieces.collect(request.is_disconnected)
        return answer

    @app.post("/v1/classify", summary="Labels and probabilities from a served classifier: {model, input}")
    async def classify(request: Request) -> Any:
        body = await f.read_json(request)
        f.only(body, "/v1/classify", ("model", "input"))
        name = f.one_of(body, "model", served.classifiers)
        clf = await asyncio.to_thread(served.classifier, name)
        texts = f.texts(body)
        proba = await asyncio.to_thread(clf.predict_proba, texts)
        key = "labels" if clf.multi_label else "label"  # a multi-label classifier's: a list of labels per text
        data = [{"index": i, key: label, "probabilities": {str(c): float(p) for c, p in zip(clf.classes, row, strict=True)}}
                for i, (label, row) in enumerate(zip(clf.labels_of(proba), proba, strict=True))]
        return {"object": "list", "model": name, "data": data}


def _search(body: dict[str, Any], served: Served, collection: Any, k: int, where: Any) -> Callable[[], Any]:
    """A text query's search, its fields checked now."""
    query = f.field(body, "query", str)
    hybrid = f.field(body, "hybrid", bool, served.ask_defaults.hybrid)
    fusion, documents = _fusion(body, hybrid), f.field(body, "documents", bool, False)
    return lambda: collection.search(query, k, hybrid=hybrid, where=where, fusion=fusion, by_document=documents)


def _similar(body: dict[str, Any], collection: Any, k: int, where: Any) -> Callable[[], Any]:
    """The documents like the stored one ``like`` names (a query's own fields beside it are a 400)."""
    from latentstack.http.errors import bad_request

    like = f.field(body, "like", str)
    beside = [name for name in ("query", "hybrid", "fusion") if name in body]
    if beside:
        raise bad_request(f"'like' is the query, ranked by the dense vectors: leave '{beside[0]}' out", beside[0])
    return lambda: collection.similar(like, k, where=where)


def _fusion(body: dict[str, Any], hybrid: bool) -> str | None:
    """``fusion`` as given (None when absent), checked as the search checks it (``check_fusion``) so that a mistake
    is a 400 naming the field."""
    from latentstack.errors import InputError
    from latentstack.http.errors import bad_request
    from latentstack.search.fusion import check_fusion

    fusion = f.field(body, "fusion", str, None)
    try:
        check_fusion(fusion, hybrid)
    except InputError as exc:
        raise bad_request(str(exc), "fusion") from exc
    return fusion


def _pipeline(served: Served, body: dict[str, Any]) -> Any:
    from latentstack.rag import RagPipeline

    base = served.ask_defaults  # serve's -k, --dense-only and --min-score
    config = attrs.evolve(base, k=f.bounded(body, "k", int, 1, f.MAX_K, base.k),
                          hybrid=f.field(body, "hybrid", bool, base.hybrid),
                          min_score=f.bounded(body, "min_score", (int, float), -1.0, 1.0, base.min_score),
                          max_new_tokens=f.bounded(body, "max_tokens", int, 1, f.MAX_TOKENS, base.max_new_tokens))
    return RagPipeline(served.collection(f.one_of(body, "index", served.indexes)), served.generator_instance(), config)


async def _ask_events(pieces: Pieces, answer: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """``{"token": piece}`` events as the answer is written, then ``{"answer": ...}`` with its citations."""
    async for piece in pieces:
        if piece:
            yield {"token": piece}
    yield {"answer": answer}
