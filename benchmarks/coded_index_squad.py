"""Vector indexes that keep codes instead of float32 vectors, on real MiniLM vectors: bytes, recall, speed.

The base is SQuAD v1.1 dev's 2,067 paragraphs and all but 1,000 of its questions, embedded once with MiniLM
(the default `bert` embedder, its dtype chosen as by default); the 1,000 questions left out are the queries.
Each FAISS kind is built from the same vectors through the `faiss` plugin and searched for the top 10 of each
query; recall@10 is against the exact top 10 (the `Flat` index), bytes are the serialized index.

    python benchmarks/coded_index_squad.py ../shared/data/squad-dev-v1.1.json benchmarks/results/coded-index
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from latentstack import get_embedder
from latentstack.bench.report import environment
from latentstack.errors import LatentstackError
from latentstack_faiss.index import FaissIndex

KINDS = [("Flat", {}), ("SQfp16", {}), ("SQ8", {}), ("SQ4", {}), ("HNSW32", {"ef_search": 64}),
         ("HNSW32,SQ8", {"ef_search": 64}), ("HNSW32,SQ8", {"ef_search": 128}), ("PQ96", {}), ("PQ48", {}),
         ("IVF64,PQ48", {"nprobe": 16})]


def texts(squad: Path, queries: int) -> tuple[list[str], list[str]]:
    """Base texts (paragraphs, then questions) and the held-out query questions (a seeded draw)."""
    data = json.loads(squad.read_text(encoding="utf-8"))
    paragraphs = [p["context"] for a in data["data"] for p in a["paragraphs"]]
    questions = [q["question"] for a in data["data"] for p in a["paragraphs"] for q in p["qas"]]
    held = set(np.random.default_rng(0).choice(len(questions), queries, replace=False).tolist())
    base = paragraphs + [q for i, q in enumerate(questions) if i not in held]
    return base, [questions[i] for i in sorted(held)]


def timed_search(index: FaissIndex, q: np.ndarray) -> tuple[list[list[int]], float, float]:
    """Top-10 labels, batch queries per second, and single queries per second (first 200)."""
    start = time.perf_counter()
    hits = index.search_batch(q, k=10)
    batch = len(q) / (time.perf_counter() - start)
    start = time.perf_counter()
    for row in q[:200]:
        index.search_batch(row[None, :], k=10)
    single = 200 / (time.perf_counter() - start)
    return [[int(h.id) for h in row] for row in hits], batch, single


def main(squad: Path, out: Path, queries: int = 1000) -> None:
    base, asked = texts(squad, queries)
    embedder = get_embedder("bert", show_progress=False)
    start = time.perf_counter()
    x, q = embedder.embed_many(base), embedder.embed_many(asked)
    rows, truth = [], None
    print(f"embedded {len(base)} + {len(asked)} texts in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    for factory, search in KINDS:
        start = time.perf_counter()
        try:
            index = FaissIndex.from_options(factory=factory, device="cpu", **search)
            index.add(list(range(len(base))), x)
        except LatentstackError as exc:  # a kind the code run cannot make
            rows.append({"index": factory, **search, "refused": str(exc)[:200]})
            continue
        build = time.perf_counter() - start
        found, batch, single = timed_search(index, q)
        truth = truth or found
        recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
        rows.append({"index": factory, **search, "recall@10": round(recall, 4), "bytes": index.nbytes(),
                     "build_s": round(build, 2), "batch_qps": round(batch, 1), "single_qps": round(single, 1)})
        print(json.dumps(rows[-1]), file=sys.stderr)
    result = {"base": len(base), "queries": len(asked), "dim": int(x.shape[1]), "embedder": "bert (MiniLM, default options)", "rows": rows, "environment": environment(),
              "command": "python benchmarks/coded_index_squad.py ../shared/data/squad-dev-v1.1.json OUT"}
    out.mkdir(parents=True, exist_ok=True)
    (out / "squad-minilm.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
