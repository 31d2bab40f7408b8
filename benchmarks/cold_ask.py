"""Wall time and imports of a cold CLI ``ask``: torch (bert index, llm generator) against ONNX (onnx index, onnx generator),
and a bert index asked with its model's ONNX export embedding the question (``--onnx``).

    python benchmarks/cold_ask.py --out benchmarks/results/generate-onnx [--runs 5]

Builds what it needs in a scratch folder (a MiniLM ONNX export, the demo docs indexed
both ways, an int4 SmolLM2 export), then runs each ``ask`` in a fresh process with
``python -X importtime``, the methods in turn, and writes cold-ask.json and cold-ask.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

QUESTION = "Why does bread dough rise?"
DOCS = Path(__file__).parent / "demo-docs" / "docs.jsonl"


def cli(*args: str, importtime: bool = False) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``python -m latentstack ARGS``; the wall seconds and the finished process."""
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "latentstack", "-q", *args]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done


def imported(stderr: str) -> set[str]:
    """Top-level module names in ``-X importtime`` output."""
    return {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in stderr.splitlines() if line.startswith("import time")}


def in_turn(command: str, methods: dict[str, list[str]], runs: int) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """``runs`` fresh processes of ``latentstack COMMAND ARGS`` per method, the methods in turn (so that a slower
    spell of the machine hits each alike): each method's wall seconds, its median and range, whether its last run
    imported torch and transformers, and that run's finished process."""
    walls: dict[str, list[float]] = {method: [] for method in methods}
    last: dict[str, Any] = {}
    for _ in range(runs):
        for method, args in methods.items():
            wall, last[method] = cli(command, *args, importtime=True)
            walls[method].append(wall)
    summary: dict[str, dict[str, Any]] = {}
    for method, times in walls.items():
        mods = imported(last[method].stderr)
        summary[method] = {"wall_s_median": round(statistics.median(times), 3), "wall_s": [round(w, 3) for w in times],
                           "imports_torch": "torch" in mods, "imports_transformers": "transformers" in mods}
    return summary, last


def write_report(out: Path, stem: str, body: dict[str, Any], title: str, columns: list[str], rows: list[list[Any]],
                 command: str) -> None:
    """``out``/STEM.json holding ``body``, and STEM.md: the title, a table of ``rows``, the environment (``body``'s)
    and the command that made it."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(body, indent=2) + "\n")
    table = "".join(f"| {' | '.join(str(cell) for cell in row)} |\n" for row in rows)
    (out / f"{stem}.md").write_text(
        f"# {title}\n\n| {' | '.join(columns)} |\n|{'---|' * len(columns)}\n{table}\n"
        f"Environment: {json.dumps(body['environment'])}\n\nCommand: {command}\n")


def prepare(scratch: Path) -> dict[str, list[str]]:
    """The exports and both indexes; the ask arguments of each method."""
    cli("export", "onnx", "--model", "minilm", "--out", str(scratch / "minilm-onnx"))
    cli("export", "onnx", "--model", "smollm2-135m-instruct", "--precision", "int4", "--out", str(scratch / "smol-int4"))
    cli("index", "build", str(scratch / "torch-idx"), "--from", str(DOCS))
    cli("index", "build", str(scratch / "onnx-idx"), "--from", str(DOCS), "--embedder", "onnx",
        "-o", f"model={scratch / 'minilm-onnx'}")
    return {"torch (bert index, llm generator)": [str(scratch / "torch-idx"), QUESTION, "-k", "2"],
            "onnx (onnx index, onnx generator int4)": [str(scratch / "onnx-idx"), QUESTION, "-k", "2",
                                                       "--generator", "onnx", "--model", str(scratch / "smol-int4")],
            "bert index asked --onnx (onnx generator int4)": [
                str(scratch / "torch-idx"), QUESTION, "-k", "2", "--onnx", str(scratch / "minilm-onnx"),
                "--generator", "onnx", "--model", str(scratch / "smol-int4")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from latentstack.bench.report import environment

    with tempfile.TemporaryDirectory(prefix="cold-ask-") as scratch:
        results, last = in_turn("ask", prepare(Path(scratch)), args.runs)
    for method, done in last.items():
        results[method]["answer"] = done.stdout.splitlines()[0] if done.stdout else ""
        print(method, results[method], flush=True)  # noqa: T201 - a script reporting progress
    body = {"question": QUESTION, "runs": args.runs, "results": results, "environment": environment()}
    write_report(args.out, "cold-ask", body, f"Cold `latentstack ask` ({args.runs} fresh processes each, demo docs, -k 2)",
                 ["method", "median wall s", "range", "imports torch", "imports transformers"],
                 [[m, r["wall_s_median"], f"{min(r['wall_s'])}-{max(r['wall_s'])}", r["imports_torch"],
                   r["imports_transformers"]] for m, r in results.items()],
                 f"python benchmarks/cold_ask.py --out {args.out}")

if __name__ == "__main__":
    main()
