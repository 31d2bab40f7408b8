"""What a metadata filter costs per search as an index grows: one filtered query at a time, Flat and HNSW32.

Synthetic unit vectors (the filter's cost does not depend on what they mean) carry the metadata of a document
collection: 20 chunks per source file, a language of three, a year, tags. Each filter is timed over single
queries after a first one (which, since the payload index, builds the index of the metadata; timed apart), and
the memory that index takes is measured by tracemalloc, beside the metadata's own. Run it with the code to compare on PYTHONPATH for the
figures before a change:

    python benchmarks/filter_cost.py benchmarks/results/filter-cost/now
    PYTHONPATH=OLD/corelib:OLD/plugins python benchmarks/filter_cost.py benchmarks/results/filter-cost/before
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from latentstack.bench.report import environment
from latentstack_faiss.index import FaissIndex

SIZES = ((10_000, "Flat"), (100_000, "Flat"), (100_000, "HNSW32"), (1_000_000, "Flat"))
FILTERS = {"source = one file": {"source": "docs/file123.md"}, "lang = fr": {"lang": "fr"},
           "year >= 2020": {"year": {"$gte": 2020}}, "lang != en": {"lang": {"$ne": "en"}}}
DIM = 32


def metadata(n: int) -> list[dict]:
    """Chunk i of file i // 20, its language, year and tags."""
    return [{"source": f"docs/file{i // 20}.md", "lang": ("en", "fr", "de")[(i // 20) % 3],
             "year": 1990 + (i // 20 * 7919) % 35, "tags": ["faq", "howto"] if i % 7 == 0 else ["howto"]}
            for i in range(n)]


def payload_bytes(meta: list[dict]) -> int | None:
    """Memory the metadata's index takes, when the code has one."""
    try:
        from latentstack.metadata_index import MetadataIndex
    except ImportError:
        return None
    tracemalloc.start()
    kept = MetadataIndex(meta)
    for where in FILTERS.values():  # its sorted views are made at the first bound or exclusion
        kept.mask(where)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return size


def timed(index: FaissIndex, q: np.ndarray, where: dict, repeats: int) -> tuple[float, float, int]:
    """ms of the first filtered query, mean ms of the next ``repeats``, and the hits of the first."""
    start = time.perf_counter()
    hits = index.search_batch(q[:1], k=10, where=where)[0]
    first = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    for row in q[1 : repeats + 1]:
        index.search_batch(row[None, :], k=10, where=where)
    return first, (time.perf_counter() - start) * 1000 / repeats, len(hits)


def main(out: Path) -> None:
    rng = np.random.default_rng(0)
    rows = []
    for n, factory in SIZES:
        x = rng.standard_normal((n, DIM)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        tracemalloc.start()
        meta = metadata(n)
        meta_bytes = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        index = FaissIndex.from_options(factory=factory)
        index.add(list(range(n)), x, meta)
        q = x[rng.choice(n, 51, replace=False)]
        repeats = 50 if n <= 100_000 else 10
        start = time.perf_counter()
        for row in q[1 : repeats + 1]:
            index.search_batch(row[None, :], k=10)
        plain = (time.perf_counter() - start) * 1000 / repeats
        for name, where in FILTERS.items():
            index.add([-1], x[:1], [{"source": "x"}])  # a change: any kept index of the metadata is rebuilt
            index.remove([-1])
            first, each, hits = timed(index, q, where, repeats)
            rows.append({"n": n, "index": factory, "filter": name, "unfiltered_ms": round(plain, 3),
                         "first_ms": round(first, 2), "ms_per_query": round(each, 3), "hits": hits})
            print(json.dumps(rows[-1]), file=sys.stderr)
        rows.append({"n": n, "index": factory, "metadata_bytes": meta_bytes, "payload_index_bytes": payload_bytes(meta)})
        print(json.dumps(rows[-1]), file=sys.stderr)
    result = {"dim": DIM, "rows": rows, "environment": environment(),
              "code": str(Path(__import__("latentstack_faiss").__file__).parent)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
