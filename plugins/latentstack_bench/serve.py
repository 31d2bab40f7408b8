"""``latentstack bench serve``: the HTTP server under concurrent clients, in one run.

Each row is one method at one client count: ``embed-batched`` (dynamic batching on),
``embed-single`` (one request per forward pass, the baseline) and ``chat`` (greedy chat
completions, generated one at a time). Every client sends its requests one after another
(embedding requests carry one text each); the row reports requests per second over the
whole run, p50 and p99 latency, and errors. Servers listen on 127.0.0.1 on a free port,
and every run is bounded by its request count.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import click

from latentstack.bench.options import bench_options, split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult
from latentstack.bench.writers import timing_chart
from latentstack.progress import log

METHODS = ["embed-batched", "embed-single", "chat"]
TEXT = "A short message about the weather, the bus and lunch plans for {i}."


async def _client(http: Any, make: Any, n: int, latencies: list[float], errors: list[str]) -> None:
    for i in range(n):
        start = time.perf_counter()
        try:
            path, body = make(i)
            reply = await http.post(path, json=body)
            if reply.status_code != 200:
                errors.append(f"{reply.status_code}: {reply.text[:100]}")
        except Exception as exc:  # counted, never fatal to the run
            errors.append(f"{type(exc).__name__}: {exc}")
        latencies.append(time.perf_counter() - start)


async def _load(url: str, make: Any, clients: int, per_client: int) -> dict[str, float]:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(*(_client(http, make, per_client, latencies, errors) for _ in range(clients)))
        wall = time.perf_counter() - start
    ordered = sorted(latencies)
    return {"requests": float(len(latencies)), "requests_per_s": round(len(latencies) / wall, 2),
            "p50_ms": round(1000 * statistics.median(ordered), 1),
            "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
            "errors": float(len(errors)), "seconds": round(wall, 2)}


def _server(method: str, model: str, generator_model: str) -> Any:
    from latentstack.http.app import build_app
    from latentstack.http.run import InThread
    from latentstack.http.state import Served

    served = Served(generator_options={"model": generator_model}, window_s=None if method == "embed-single" else 0.005)
    if method == "chat":
        served.generator_instance().generate("Hi")  # loaded before the clock starts
    else:
        asyncio.run(served.batcher(model)[1].embed(["warm up"]))
    return InThread(build_app(served))


@click.command("serve")
@bench_options("embed-batched,embed-single,chat", data_required=False)
@click.option("--clients", default="1,8,32", show_default=True, help="Concurrent client counts.")
@click.option("--requests", "per_client", default=16, show_default=True, type=click.IntRange(1, 1000),
              help="Embedding requests each client sends.")
@click.option("--chat-requests", default=2, show_default=True, type=click.IntRange(1, 100),
              help="Chat requests each client sends.")
@click.option("--max-tokens", default=16, show_default=True, type=click.IntRange(1, 256))
@click.option("--model", default="minilm", show_default=True, help="Embedding model.")
@click.option("--generator-model", default="smollm2-135m-instruct", show_default=True)
@suite
def serve(data: str | None, methods: str, limit: int | None, seed: int, clients: str, per_client: int,
          chat_requests: int, max_tokens: int, model: str, generator_model: str) -> BenchReport:
    """Throughput, p50/p99 latency and errors of the HTTP server under 1, 8 and 32 concurrent clients."""
    chosen = split_methods(methods, METHODS)
    counts = [int(c) for c in clients.split(",") if c.strip()]
    report = BenchReport("serve", "built-in requests", sum(counts),
                         params={"clients": clients, "requests_per_client": per_client, "chat_requests": chat_requests,
                                 "max_tokens": max_tokens, "model": model, "generator_model": generator_model,
                                 "batch_window_ms": 5})
    report.chart = timing_chart("requests_per_s", "requests/s")
    for method in chosen:
        running = _server(method, model, generator_model)
        try:
            for n in counts:
                log(f"bench serve: {method}, {n} clients")
                if method == "chat":
                    body = {"messages": [{"role": "user", "content": "Name a colour."}], "max_tokens": max_tokens}
                    timing = asyncio.run(_load(running.url, lambda i, b=body: ("/v1/chat/completions", b),
                                               n, chat_requests))
                else:
                    timing = asyncio.run(_load(running.url, lambda i: ("/v1/embeddings", {
                        "model": model, "input": TEXT.format(i=i), "encoding_format": "float"}), n, per_client))
                report.results.append(MethodResult(f"{method}@{n}", {"errors": timing.pop("errors")}, timing))
        finally:
            running.stop()
    return report
