"""What a BM25 index costs to save, to load, to answer its first query after a load (a CLI search of a
hybrid index loads it every time), and to take an edit after a load (10 texts removed, 10 added, as an
``index add`` of a changed folder does): its first search then rebuilds the matrix, and the save follows.

Texts: SQuAD dev's 2,067 paragraphs (real English), its paragraphs and 10,570 questions together, and 200,000 synthetic passages of 60 words drawn from a
Zipf-distributed vocabulary of 50,000 (the shape of a large corpus; their stemming is trivial, so real text
tokenises slower). Run it with the code to compare on PYTHONPATH for the figures before a change:

    python benchmarks/bm25_load.py ../shared/data/squad-dev-v1.1.json benchmarks/results/bm25-load/now
    PYTHONPATH=OLD/corelib:OLD/plugins python benchmarks/bm25_load.py ../shared/data/squad-dev-v1.1.json \\
        benchmarks/results/bm25-load/before
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from latentstack.bench.report import environment
from latentstack_bm25.index import Bm25Index

QUERIES = ["which river flows through the city", "who won the championship in 1995", "w12 w7 w301"]


def squad(path: Path, questions: bool = False) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    paragraphs = [p for article in data for p in article["paragraphs"]]
    return [p["context"] for p in paragraphs] + [q["question"] for p in paragraphs for q in p["qas"] if questions]


def synthetic(n: int, words: int = 60, vocab: int = 50_000) -> list[str]:
    rng = np.random.default_rng(0)
    ids = np.minimum(rng.zipf(1.2, size=(n, words)), vocab)
    return [" ".join(f"w{i}" for i in row) for row in ids]


def measure(name: str, texts: list[str], folder: Path) -> dict:
    index = Bm25Index()
    index.add(list(range(len(texts))), texts)
    index.search(QUERIES[0], k=10)  # built, as after an index build's first search
    start = time.perf_counter()
    index.save(folder)
    saved = time.perf_counter() - start
    loads = []
    for _ in range(3):  # the best of three: the first read can meet the save's pages still being written out
        start = time.perf_counter()
        again = Bm25Index.load(folder)
        loads.append(time.perf_counter() - start)
    loaded = min(loads)
    start = time.perf_counter()
    first = again.search(QUERIES[0], k=10)
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    for q in QUERIES[1:]:
        again.search(q, k=10)
    later = (time.perf_counter() - start) / (len(QUERIES) - 1)
    assert [h.id for h in first] == [h.id for h in index.search(QUERIES[0], k=10)]
    start = time.perf_counter()
    again.remove(list(range(10)))
    again.add([f"new-{i}" for i in range(10)], texts[10:20])
    again.search(QUERIES[1], k=10)
    edit_s = time.perf_counter() - start
    start = time.perf_counter()
    again.save(folder.with_name(folder.name + "-edited"))
    edit_save_s = time.perf_counter() - start
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return {"texts": name, "n": len(texts), "save_s": round(saved, 3), "load_s": round(loaded, 3),
            "first_search_s": round(first_s, 3), "load_and_first_search_s": round(loaded + first_s, 3),
            "later_search_ms": round(later * 1000, 2), "edit_and_search_s": round(edit_s, 3),
            "edit_save_s": round(edit_save_s, 3), "folder_bytes": size}


def main(squad_path: Path, out: Path) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, texts in (("squad-paragraphs", squad(squad_path)),
                            ("squad-paragraphs-and-questions", squad(squad_path, questions=True)),
                            ("synthetic-zipf", synthetic(200_000))):
            rows.append(measure(name, texts, Path(tmp) / name))
            print(json.dumps(rows[-1]), file=sys.stderr)
    result = {"rows": rows, "environment": environment(),
              "code": str(Path(__import__("latentstack_bm25").__file__).parent)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
