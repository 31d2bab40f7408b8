"""What an index's metadata costs to save, to load and to hold when a document's passages share one mapping.

A collection gives every passage of a document its document's metadata (source, language, year, tags: the
mapping `filter_cost.py` uses). FAISS (Flat, 32-d synthetic vectors) and BM25 (synthetic 60-word texts) indexes
are built with 20 passages a document, as a collection adds them (one mapping object per document), and once
with a mapping of its own per item (nothing to share). Each is saved, then loaded in a fresh process that reports
the load's seconds, the memory the loaded index holds (resident memory after the load less before it) and the first
filtered search. Run it with the code to compare on PYTHONPATH for the figures before a change:

    python benchmarks/metadata_once.py benchmarks/results/metadata-once/now
    PYTHONPATH=OLD/corelib:OLD/plugins python benchmarks/metadata_once.py benchmarks/results/metadata-once/before
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from latentstack.bench.report import environment

CASES = (("faiss", 1_000_000, True), ("faiss", 1_000_000, False), ("bm25", 200_000, True))
PER_DOC = 20

LOAD = """
import gc, json, os, sys, time
import numpy as np


def rss_mb():
    gc.collect()
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


kind, folder = sys.argv[1], sys.argv[2]
if kind == "faiss":
    from latentstack_faiss.index import FaissIndex as Index
    query = np.ones(32, dtype=np.float32)
else:
    from latentstack_bm25.index import Bm25Index as Index
    query = "w12 w7 w301"
before = rss_mb()
start = time.perf_counter()
index = Index.load(folder)
load_s = time.perf_counter() - start
after = rss_mb()
start = time.perf_counter()
hits = index.search(query, k=10, where={"lang": "fr"})
first = time.perf_counter() - start
print(json.dumps({"load_s": round(load_s, 3), "load_added_mb": round(after - before, 1),
                  "first_filtered_search_s": round(first, 3), "hits": len(hits)}))
"""


def metadata(n: int, shared: bool) -> list[dict]:
    """Passage i of document i // 20; one mapping object per document when shared, else one per passage."""
    docs = [{"source": f"docs/file{d}.md", "lang": ("en", "fr", "de")[d % 3], "year": 1990 + (d * 7919) % 35,
             "tags": ["faq", "howto"] if d % 7 == 0 else ["howto"]} for d in range((n + PER_DOC - 1) // PER_DOC)]
    return [docs[i // PER_DOC] if shared else dict(docs[i // PER_DOC]) for i in range(n)]


def build(kind: str, n: int, shared: bool, folder: Path) -> float:
    rng = np.random.default_rng(0)
    if kind == "faiss":
        from latentstack_faiss.index import FaissIndex

        index = FaissIndex.from_options(factory="Flat")
        items = rng.standard_normal((n, 32)).astype(np.float32)
    else:
        from latentstack_bm25.index import Bm25Index

        index = Bm25Index()
        ids = np.minimum(rng.zipf(1.2, size=(n, 60)), 50_000)
        items = [" ".join(f"w{i}" for i in row) for row in ids]
    index.add([str(i) for i in range(n)], items, metadata(n, shared))
    start = time.perf_counter()
    index.save(folder)
    return time.perf_counter() - start


def main(out: Path) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, n, shared in CASES:
            folder = Path(tmp) / f"{kind}-{n}-{shared}"
            save_s = build(kind, n, shared, folder)
            loaded = subprocess.run([sys.executable, "-c", LOAD, kind, str(folder)], capture_output=True, text=True,
                                    check=True, env=os.environ)
            sizes = {f.name: f.stat().st_size for f in folder.iterdir() if f.is_file()}
            rows.append({"index": kind, "items": n, "metadata": "a document's, shared by its 20 passages" if shared
                         else "one mapping per item", "save_s": round(save_s, 3),
                         "folder_bytes": sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()),
                         "metadata_json_bytes": sizes.get("metadata.json", 0),
                         **json.loads(loaded.stdout.strip().splitlines()[-1])})
            print(json.dumps(rows[-1]), file=sys.stderr)
    result = {"rows": rows, "environment": environment(),
              "code": str(Path(__import__("latentstack_faiss").__file__).parent)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
