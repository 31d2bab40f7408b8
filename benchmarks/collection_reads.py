"""What the CLI's read-only index commands cost on a large collection: each one in a fresh process, as a user runs it.

`index info` and `index export` need the documents alone and a dense search (`--dense-only`, `--like`) no lexical
index; the code before loaded the whole collection for each. The collection: 200,000 synthetic passages of 60 words
(a Zipf vocabulary, as bm25_load.py makes them) under the lsa embedder (fitted on 20,000 of them), IVF FAISS and
BM25, so that building it takes a minute, not a day of MiniLM. Run it with the code before in a worktree:

    python benchmarks/collection_reads.py build /tmp/bigcol
    python benchmarks/collection_reads.py time /tmp/bigcol OLD_CHECKOUT OUT [REPS]

``time`` alternates the code before (OLD_CHECKOUT's corelib and plugins on PYTHONPATH) and now, REPS times each
(default 5), and saves each command's median seconds and peak memory to OUT/result.json.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

COMMANDS = {
    "index info": ["index", "info", "{col}"],
    "index export (one document)": ["index", "export", "{col}", "d5"],
    "search --dense-only": ["search", "{col}", "w12 w7 w301", "--dense-only", "-k", "3"],
    "search --like": ["search", "{col}", "--like", "d5", "-k", "3"],
    "search (hybrid)": ["search", "{col}", "w12 w7 w301", "-k", "3"],
}


def build(folder: Path) -> None:
    from bm25_load import synthetic

    from latentstack.search import Collection

    texts = synthetic(200_000)
    col = Collection.create(folder, embedder="lsa")
    col.embedder.fit(texts[:20_000])
    col.add_documents([{"id": f"d{i}", "text": t, "topic": f"t{i % 50}"} for i, t in enumerate(texts)])
    col.save()


def run(argv: list[str], pythonpath: str | None) -> tuple[float, int]:
    """Wall seconds and peak resident memory (MiB) of one fresh ``python -m latentstack`` process."""
    env = {**os.environ, **({"PYTHONPATH": pythonpath} if pythonpath else {})}
    with open(os.devnull, "wb") as null:
        start = time.perf_counter()
        pid = os.posix_spawn(sys.executable, [sys.executable, "-m", "latentstack", "-q", *argv], env,
                             file_actions=[(os.POSIX_SPAWN_DUP2, null.fileno(), 1)])
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        msg = f"{argv} failed"
        raise SystemExit(msg)
    return seconds, usage.ru_maxrss // 1024


def measure(col: Path, old: Path, out: Path, reps: int) -> None:
    from latentstack.bench.report import environment

    before = f"{old}/corelib:{old}/plugins"
    rows = []
    for name, template in COMMANDS.items():
        argv = [a.format(col=col) for a in template]
        runs: dict[str, list[tuple[float, int]]] = {"before": [], "now": []}
        for _ in range(reps):
            runs["before"].append(run(argv, before))
            runs["now"].append(run(argv, None))
        row = {"command": name}
        for code, got in runs.items():
            row[f"{code}_s"] = round(statistics.median(s for s, _ in got), 2)
            row[f"{code}_mib"] = max(m for _, m in got)
            row[f"{code}_all_s"] = [round(s, 2) for s, _ in got]
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps({"rows": rows, "reps": reps, "environment": environment()}, indent=1)
                                     + "\n", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(Path(sys.argv[2]))
    else:
        measure(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 5)
