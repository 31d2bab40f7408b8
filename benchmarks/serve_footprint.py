"""A classifier server's start and memory: `serve --http --classifier` as it was (the llm generator loaded, MiniLM by
torch), with `--no-generator`, and with `--no-generator --onnx` (MiniLM's int8 export), each in a fresh process.

    python benchmarks/serve_footprint.py --out benchmarks/results/serve-footprint [--runs 3] [--train 600]

Trains a hybrid (MiniLM + TF-IDF) classifier on the first ``--train`` training texts of
the SMS set and exports MiniLM to ONNX (int8) in a scratch folder, then starts each
server in turn on a free loopback port and records the seconds until its first
/v1/classify answer, the server's peak resident memory (VmHWM) and whether it imported
torch; it also checks the three give the same labels on the test texts it sends.
Writes serve-footprint.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from cold_ask import cli, imported, write_report

DATA = Path(__file__).parent / "data" / "sms-spam.tsv"


def texts_of(split: str, limit: int) -> tuple[list[str], list[str]]:
    """The first ``limit`` (text, label) pairs of one split of the SMS set."""
    from latentstack.data.labeled import load_labeled

    part = load_labeled(DATA)[split]
    return list(part.texts[:limit]), list(part.labels[:limit])


def prepare(scratch: Path, train: int) -> dict[str, list[str]]:
    """The classifier and the export; each method's extra serve arguments."""
    from latentstack import get_classifier

    texts, labels = texts_of("train", train)
    get_classifier("linear", hybrid=True).fit(texts, labels).save(scratch / "spam")
    cli("export", "onnx", "--model", "minilm", "--int8", "--out", str(scratch / "minilm-onnx"))
    base = ["--classifier", f"spam={scratch / 'spam'}"]
    return {"llm generator, torch MiniLM": base, "--no-generator": [*base, "--no-generator"],
            "--no-generator --onnx (int8)": [*base, "--no-generator", "--onnx", str(scratch / "minilm-onnx")]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_server(extra: list[str], probe: list[str], log: Path) -> dict[str, Any]:
    """Start ``serve --http`` with ``extra``, wait for its first /v1/classify answer, measure, stop it."""
    port = free_port()
    with log.open("w") as sink:
        start = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "latentstack", "-q", "serve", "--http",
                                   "--port", str(port), *extra], stdout=subprocess.DEVNULL, stderr=sink)
    try:
        labels, deadline = None, time.time() + 300
        while labels is None and time.time() < deadline and server.poll() is None:
            try:
                reply = httpx.post(f"http://127.0.0.1:{port}/v1/classify", json={"model": "spam", "input": probe},
                                   timeout=120)
                labels = [row["label"] for row in reply.json()["data"]]
            except httpx.TransportError:
                time.sleep(0.2)
        ready = time.perf_counter() - start
        rss = peak_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    if labels is None:
        raise RuntimeError(f"the server did not answer: {log.read_text()[-2000:]}")
    return {"ready_s": ready, "peak_rss_mb": rss, "imports_torch": "torch" in imported(log.read_text()),
            "labels": labels}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--train", type=int, default=600)
    args = parser.parse_args()
    from latentstack.bench.report import environment

    probe = texts_of("test", 32)[0]
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="serve-footprint-") as scratch:
        methods = prepare(Path(scratch), args.train)
        for _ in range(args.runs):
            for method, extra in methods.items():
                runs.setdefault(method, []).append(one_server(extra, probe, Path(scratch) / "serve.log"))
    first = next(iter(runs.values()))[0]["labels"]
    results = {m: {"ready_s": [round(r["ready_s"], 2) for r in rs],
                   "ready_s_median": round(statistics.median(r["ready_s"] for r in rs), 2),
                   "peak_rss_mb_median": round(statistics.median(r["peak_rss_mb"] for r in rs), 1),
                   "imports_torch": any(r["imports_torch"] for r in rs),
                   "same_labels": all(r["labels"] == first for r in rs)} for m, rs in runs.items()}
    body = {"train_texts": args.train, "probe_texts": len(probe), "runs": args.runs, "results": results,
            "environment": environment()}
    write_report(args.out, "serve-footprint", body,
                 f"A classifier server's start and memory ({args.runs} fresh servers each, in turn)",
                 ["server", "median s to first /v1/classify answer", "range", "median peak RSS MB", "imports torch",
                  "same labels"],
                 [[m, r["ready_s_median"], f"{min(r['ready_s'])}-{max(r['ready_s'])}", r["peak_rss_mb_median"],
                   r["imports_torch"], r["same_labels"]] for m, r in results.items()],
                 f"python benchmarks/serve_footprint.py --out {args.out} --runs {args.runs} --train {args.train}")
    print(json.dumps(results, indent=1))  # noqa: T201 - a script reporting its figures


if __name__ == "__main__":
    os.environ.setdefault("LATENTSTACK_NO_CACHE", "1")
    main()
