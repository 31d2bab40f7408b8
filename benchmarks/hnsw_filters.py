"""Filtered search on HNSW: recall@10 against exact filtered search, and time, as the filter narrows.

The vectors are coded_index_squad.py's (SQuAD dev paragraphs and questions embedded with MiniLM, 1,000 held-out
questions as queries); each base vector gets a `rank`, and a filter `rank < N` allows the first N. Recall is
against a `Flat` index with the same filter. Run it with the code to compare on PYTHONPATH for the figures before
a change:

    python benchmarks/hnsw_filters.py ../shared/data/squad-dev-v1.1.json benchmarks/results/hnsw-filters/now
    PYTHONPATH=OLD/corelib:OLD/plugins python benchmarks/hnsw_filters.py ../shared/data/squad-dev-v1.1.json \\
        benchmarks/results/hnsw-filters/before
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from coded_index_squad import texts

from latentstack import get_embedder
from latentstack.bench.report import environment
from latentstack_faiss.index import FaissIndex

ALLOWED = (10, 100, 1000, 5000, None)


def recall(got: list, want: list) -> float:
    """Mean share of the exact filtered top 10 found."""
    return float(np.mean([len({h.id for h in a} & {h.id for h in b}) / max(1, len(b))
                          for a, b in zip(got, want, strict=True)]))


def main(squad: Path, out: Path) -> None:
    base, asked = texts(squad, 1000)
    embedder = get_embedder("bert", show_progress=False)
    x, q = embedder.embed_many(base), embedder.embed_many(asked)
    meta = [{"rank": i} for i in range(len(base))]
    flat = FaissIndex.from_options(factory="Flat")
    flat.add(list(range(len(base))), x, meta)
    rows = []
    for factory in ("HNSW32", "HNSW32,SQ8"):
        index = FaissIndex.from_options(factory=factory, ef_search=64)
        index.add(list(range(len(base))), x, meta)
        for n in ALLOWED:
            where = {"rank": {"$lt": n}} if n else None
            truth = flat.search_batch(q, k=10, where=where)
            start = time.perf_counter()
            got = index.search_batch(q, k=10, where=where)
            batch_ms = (time.perf_counter() - start) * 1000 / len(q)
            start = time.perf_counter()
            for row in q[:200]:
                index.search_batch(row[None, :], k=10, where=where)
            single_ms = (time.perf_counter() - start) * 1000 / 200
            rows.append({"index": factory, "allowed": n or len(base), "recall@10": round(recall(got, truth), 4),
                         "short_answers": sum(len(g) < min(10, n or 10) for g in got),
                         "batch_ms_per_query": round(batch_ms, 3), "single_ms_per_query": round(single_ms, 3)})
            print(json.dumps(rows[-1]), file=sys.stderr)
    result = {"base": len(base), "queries": len(asked), "rows": rows, "environment": environment(),
              "code": str(Path(__import__("latentstack_faiss").__file__).parent)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
