"""``latentstack bench ann``: FAISS index kinds against exact search at scale, in one run.

Clustered synthetic unit vectors (seeded); queries come from the same clusters but are
not in the base. Exact search is numpy brute force (one BLAS matrix product per batch);
each FAISS kind reports build time, memory (its serialized size), batch and single-query
QPS, and recall@10 against the exact top 10, at a few search depths.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from latentstack.bench.options import split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult
from latentstack.progress import log

METHODS = ["exact", "flat", "sq8", "hnsw", "hnsw-sq8", "ivf-flat", "ivf-pq", "ivf-pq-refine"]


def clustered(n: int, dim: int, clusters: int, seed: int, spread: float = 0.6,
              draw_seed: int | None = None) -> np.ndarray:
    """``n`` unit vectors around ``clusters`` centres (fixed by ``seed``), points drawn by ``draw_seed``."""
    centres = np.random.default_rng(seed).standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    rng = np.random.default_rng(seed + 7919 if draw_seed is None else draw_seed)
    out = np.empty((n, dim), dtype=np.float32)
    for a in range(0, n, 100_000):
        b = min(n, a + 100_000)
        x = centres[rng.integers(0, clusters, b - a)]
        x += rng.standard_normal((b - a, dim)).astype(np.float32) * (spread / np.sqrt(dim))
        out[a:b] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def exact_topk(base: np.ndarray, queries: np.ndarray, k: int, block: int = 200_000) -> np.ndarray:
    """Exact inner-product top-k by numpy, in base blocks to bound memory."""
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    for a in range(0, len(base), block):
        s = queries @ base[a : a + block].T
        idx = np.argpartition(-s, k, axis=1)[:, :k]
        cand_s = np.concatenate([best_s, np.take_along_axis(s, idx, 1)], axis=1)
        cand_i = np.concatenate([best_i, idx + a], axis=1)
        top = np.argsort(-cand_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, top, 1), np.take_along_axis(cand_i, top, 1)
    return best_i


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of the true top-k found."""
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def _qps(fn: Any, queries: np.ndarray, single: int) -> tuple[float, float, Any]:
    t0 = time.perf_counter()
    res = fn(queries)
    batch = len(queries) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for q in queries[:single]:
        fn(q[None, :])
    return batch, single / (time.perf_counter() - t0), res


def kinds(n: int) -> dict[str, tuple[str, list[dict[str, int]]]]:
    """Factory string and search settings to sweep, per method."""
    nlist = max(16, int(4 * np.sqrt(n)))
    return {
        "flat": ("Flat", [{}]),
        "sq8": ("SQ8", [{}]),
        "hnsw": ("HNSW32", [{"ef_search": 32}, {"ef_search": 64}, {"ef_search": 128}]),
        "hnsw-sq8": ("HNSW32,SQ8", [{"ef_search": 64}, {"ef_search": 128}]),
        "ivf-flat": (f"IVF{nlist},Flat", [{"nprobe": 4}, {"nprobe": 8}, {"nprobe": 16}, {"nprobe": 32}]),
        "ivf-pq": (f"IVF{nlist},PQ48", [{"nprobe": 8}, {"nprobe": 16}]),
        "ivf-pq-refine": (f"IVF{nlist},PQ48,Refine(SQ8)",
                          [{"nprobe": 16, "k_factor": 8}, {"nprobe": 16, "k_factor": 32},
                           {"nprobe": 32, "k_factor": 64}]),
    }


def tradeoff(report: BenchReport, path: Path) -> None:
    """Recall@10 against batch QPS (log), one point per index setting, memory in the label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from latentstack.atomic import atomic_file

    fig, ax = plt.subplots(figsize=(9, 5))
    for r in report.results:
        ax.scatter(r.timing["batch_qps"], r.metrics["recall@10"], s=40)
        ax.annotate(f"{r.method} ({r.timing['memory_mb']:.0f} MB)", (r.timing["batch_qps"], r.metrics["recall@10"]),
                    fontsize=7, xytext=(4, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("batch queries per second (log)")
    ax.set_ylabel("recall@10")
    ax.set_title(f"{report.data}: recall against speed")
    fig.tight_layout()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


@click.command("ann")
@click.option("--n", "n", type=click.IntRange(min=1), default=1_000_000, show_default=True, help="Vectors in the base.")
@click.option("--dim", type=click.IntRange(min=1), default=384, show_default=True)
@click.option("--queries", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--clusters", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--single", type=click.IntRange(min=0), default=200, show_default=True, help="Queries timed one at a time.")
@click.option("--methods", default=",".join(METHODS), show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("benchmarks/results"), show_default=True)
@suite
def ann(n: int, dim: int, queries: int, clusters: int, single: int, methods: str, seed: int) -> BenchReport:
    """Build time, memory, QPS and recall@10 of FAISS index kinds against exact search."""
    from latentstack_faiss.index import FaissIndex

    chosen = split_methods(methods, METHODS)
    log(f"ann: making {n} clustered vectors of dim {dim}")
    base = clustered(n, dim, clusters, seed)
    q = clustered(queries, dim, clusters, seed, draw_seed=seed + 1)  # same centres, new points
    report = BenchReport("ann", f"synthetic-clustered-{n}x{dim}", n, chart=tradeoff,
                         params={"queries": queries, "clusters": clusters, "seed": seed, "k": 10})
    log("ann: exact top-10 by numpy brute force")
    batch, one, truth = _qps(lambda x: exact_topk(base, x, 10), q, single)
    flat_bytes = base.nbytes
    if "exact" in chosen:
        report.results.append(MethodResult("exact (numpy)", {"recall@10": 1.0},
                                           {"build_s": 0.0, "memory_mb": round(flat_bytes / 2**20, 1),
                                            "batch_qps": round(batch, 1), "single_qps": round(one, 1),
                                            "speedup_batch": 1.0}))
    exact_batch = batch
    ids = np.arange(n)
    for method in [m for m in chosen if m != "exact"]:
        factory, sweeps = kinds(n)[method]
        log(f"ann: building {factory}")
        index = FaissIndex.from_options(factory=factory, device="cpu")
        t0 = time.perf_counter()
        index.add(ids.tolist(), base)
        build = time.perf_counter() - t0
        mem = index.nbytes()
        for setting in sweeps:
            index.set_search(**setting)
            b, s, hits = _qps(lambda x, idx=index: idx.search_batch(x, 10), q, single)  # bound now: `del index` below
            found = np.array([[h.id for h in hs] + [-1] * (10 - len(hs)) for hs in hits])
            label = factory + "".join(f" {k}={v}" for k, v in setting.items())
            report.results.append(MethodResult(label, {"recall@10": round(recall_at(found, truth), 4)}, {
                "build_s": round(build, 1), "memory_mb": round(mem / 2**20, 1),
                "memory_vs_flat": round(mem / flat_bytes, 3), "batch_qps": round(b, 1),
                "single_qps": round(s, 1), "speedup_batch": round(b / exact_batch, 1)}))
            log(f"ann: {label}: recall@10 {report.results[-1].metrics['recall@10']}, {b:.0f} QPS")
        del index
    return report
