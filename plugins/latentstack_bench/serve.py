"""``latentstack bench serve``: the HTTP server under concurrent clients, in one run.

Each row is one method at one client count: ``embed-batched`` (dynamic batching on),
``embed-single`` (one request per forward pass, the baseline) and ``chat`` (greedy chat
completions, generated one at a time). Every client sends its requests one after another
(embedding requests carry one text each and ask for base64 vectors, as the openai
client does), from a process of their own over keep-alive connections (a minimal HTTP/1.1
client, so that the load generator's own cost stays small beside the server's); the row reports requests per second over the
whole run, p50 and p99 latency, and errors. Servers listen on 127.0.0.1 on a free port,
and every run is bounded by its request count.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

import click

from latentstack.bench.options import Counts, bench_options, split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult
from latentstack.bench.writers import timing_chart
from latentstack.progress import log

METHODS = ["embed-batched", "embed-single", "chat"]
TEXT = "A short message about the weather, the bus and lunch plans for {i}."


class Connection:
    """One keep-alive HTTP/1.1 connection with the least client work per request (the load generator, like wrk's)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, route: str, payload: bytes) -> tuple[int, bytes]:
        """Send one POST with a JSON body; the status and the body of the reply."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (f"POST {route} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()
        self.writer.write(head + payload)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _client(url: str, route: str, body: dict[str, Any], n: int, latencies: list[float],
                  errors: list[str]) -> None:
    host, port = url.removeprefix("http://").split(":")
    conn = Connection(host, int(port))
    try:
        for i in range(n):
            start = time.perf_counter()
            try:
                sent = {k: v.format(i=i) if isinstance(v, str) and k == "input" else v for k, v in body.items()}
                status, reply = await conn.post(route, json.dumps(sent).encode())
                if status != 200:
                    errors.append(f"{status}: {reply[:100]!r}")
            except Exception as exc:  # counted, never fatal to the run
                errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = Connection(host, int(port))
            latencies.append(time.perf_counter() - start)
    finally:
        conn.close()


async def _load(url: str, route: str, body: dict[str, Any], clients: int, per_client: int) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[str] = []
    await _client(url, route, body, 1, [], [])  # the client's own warm-up, not counted
    start = time.perf_counter()
    await asyncio.gather(*(_client(url, route, body, per_client, latencies, errors) for _ in range(clients)))
    wall = time.perf_counter() - start
    ordered = sorted(latencies)
    return {"requests": float(len(latencies)), "requests_per_s": round(len(latencies) / wall, 2),
            "p50_ms": round(1000 * statistics.median(ordered), 1),
            "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
            "errors": float(len(errors)), "seconds": round(wall, 2)}


def load_in_process(url: str, route: str, body: dict[str, Any], clients: int, per_client: int) -> dict[str, float]:
    """The clients run in a process of their own, as real clients would: they do not share the server's GIL."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_run_load, url, route, body, clients, per_client).result()


def _run_load(url: str, route: str, body: dict[str, Any], clients: int, per_client: int) -> dict[str, float]:
    return asyncio.run(_load(url, route, body, clients, per_client))


def _server(method: str, model: str, generator_model: str) -> Any:
    from latentstack.http.app import build_app
    from latentstack.http.run import InThread
    from latentstack.http.state import Served

    served = Served(generator_options={"model": generator_model}, window_s=None if method == "embed-single" else 0.005)
    if method == "chat":
        served.generator_instance().generate("Hi")  # loaded before the clock starts
    else:
        served.batcher(model)[1].embed_fn(["warm up"])
    return InThread(build_app(served))


@click.command("serve")
@bench_options("embed-batched,embed-single,chat", data_required=False)
@click.option("--clients", type=Counts(), default="1,8,32", show_default=True, help="Concurrent client counts.")
@click.option("--requests", "per_client", default=32, show_default=True, type=click.IntRange(1, 1000),
              help="Embedding requests each client sends.")
@click.option("--chat-requests", default=2, show_default=True, type=click.IntRange(1, 100),
              help="Chat requests each client sends.")
@click.option("--max-tokens", default=16, show_default=True, type=click.IntRange(1, 256))
@click.option("--model", default="minilm", show_default=True, help="Embedding model.")
@click.option("--generator-model", default="smollm2-135m-instruct", show_default=True)
@suite
def serve(data: str | None, methods: str, limit: int | None, seed: int, clients: list[int], per_client: int,
          chat_requests: int, max_tokens: int, model: str, generator_model: str) -> BenchReport:
    """Throughput, p50/p99 latency and errors of the HTTP server under 1, 8 and 32 concurrent clients."""
    from latentstack.cli.options import refuse_given

    refuse_given(("data", "limit", "seed"), "the suites that read data; bench serve sends built-in requests: leave {} out")
    chosen = split_methods(methods, METHODS)
    report = BenchReport("serve", "built-in requests", sum(clients),
                         params={"clients": ",".join(map(str, clients)), "requests_per_client": per_client, "chat_requests": chat_requests,
                                 "max_tokens": max_tokens, "model": model, "generator_model": generator_model,
                                 "batch_window_ms": 5})
    report.chart = timing_chart("requests_per_s", "requests/s")
    for method in chosen:
        running = _server(method, model, generator_model)
        try:
            for n in clients:
                log(f"bench serve: {method}, {n} clients")
                if method == "chat":
                    body = {"messages": [{"role": "user", "content": "Name a colour."}], "max_tokens": max_tokens}
                    timing = load_in_process(running.url, "/v1/chat/completions", body, n, chat_requests)
                else:
                    body = {"model": model, "input": TEXT, "encoding_format": "base64"}
                    timing = load_in_process(running.url, "/v1/embeddings", body, n, per_client)
                report.results.append(MethodResult(f"{method}@{n}", {"errors": timing.pop("errors")}, timing))
        finally:
            running.stop()
    return report
