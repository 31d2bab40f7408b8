"""``latentstack bench scale``: the local build against the ray engine's, on the same corpus and cores, in one run.

Two corpora: the SQuAD file's paragraphs (one chunk each), and the same paragraphs cut
into sentence windows and repeated (each copy marked) to at least ``--chunks`` chunks.
Methods: ``local`` (this process, torch on every core), ``ray-1`` and ``ray-2`` (the
ray engine with one and two single-CPU actors). Each row: seconds to embed and index,
chunks/s, chunks/s per worker, the ray engine's overhead against ``local`` and, on the
SQuAD paragraphs, the top-10 agreement and recall@10 of the ray build against the local
one over the file's first questions (``--index``, Flat by default; MiniLM in float32 on the paragraphs so
that rounding is the same everywhere, in the default runtime on the repeated corpus).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from latentstack.bench.options import bench_options, split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult
from latentstack.bench.scratch import scratch_dir
from latentstack.bench.writers import timing_chart
from latentstack.progress import log

METHODS = ["local", "ray-1", "ray-2"]
WORKERS = {"local": 0, "ray-1": 1, "ray-2": 2}


def corpora(data: str, chunks: int) -> dict[str, Any]:
    """The two corpora as documents, and the questions that probe the first."""
    from latentstack.data.squad import load_squad
    from latentstack.search import Document

    squad = load_squad(data)
    paragraphs = [Document(p.id, p.text, p.title) for p in squad.paragraphs]
    sentences = [s.strip() + "." for p in squad.paragraphs for s in p.text.split(". ") if len(s.strip()) > 20]
    copies = -(-chunks // max(len(sentences), 1))
    repeated = [Document(f"r{c}-{i}", f"{s} (copy {c})") for c in range(copies) for i, s in enumerate(sentences)]
    return {"paragraphs": paragraphs, "repeated": repeated[:chunks], "questions": [q.text for q in squad.questions]}


def build(method: str, docs: list[Any], folder: Path, dtype: str, index: str) -> tuple[Any, dict[str, float]]:
    """Index ``docs`` with the method; the collection and its timing."""
    from latentstack.search import Collection
    from latentstack_ray.engine import RayEngine

    engine = RayEngine.from_options(workers=WORKERS[method]) if WORKERS[method] else None
    col = Collection.create(folder, index=index, lexical=None,
                            embedder_options={"dtype": dtype, "show_progress": False})
    start = time.perf_counter()
    counts = col.add_documents(docs, engine=engine)
    seconds = time.perf_counter() - start
    workers = WORKERS[method] or 1
    timing = {"chunks": float(counts["chunks"]), "seconds": round(seconds, 2),
              "chunks_per_s": round(counts["chunks"] / seconds, 1),
              "chunks_per_s_per_worker": round(counts["chunks"] / seconds / workers, 1)}
    if engine is not None:
        timing |= {f"{stage}_s": s for stage, s in engine.summary()["seconds"].items()}
    return col, timing


def agreement(local: Any, other: Any, questions: list[str]) -> dict[str, float]:
    """Share of identical top-10 lists and mean recall@10 of ``other`` against ``local``."""
    same, recall = 0, 0.0
    for q in questions:
        a = [h.doc_id for h in local.search(q, k=10, hybrid=False)]
        b = [h.doc_id for h in other.search(q, k=10, hybrid=False)]
        same += a == b
        recall += len(set(a) & set(b)) / max(len(set(a)), 1)  # a document may rank twice (two chunks)
    return {"same_top10": same / len(questions), "recall_at_10": recall / len(questions)}


@click.command("scale")
@bench_options("local,ray-1,ray-2")
@click.option("--chunks", default=100_000, show_default=True, type=click.IntRange(min=1),
              help="Chunks of the repeated corpus.")
@click.option("--index", "index_spec", default="Flat", show_default=True,
              help="The dense index of every build (a FAISS factory string such as IVF64,Flat).")
@click.option("--questions", default=200, show_default=True, type=click.IntRange(min=1),
              help="SQuAD questions that compare the rankings.")
@suite
def scale(data: str, methods: str, limit: int | None, seed: int, chunks: int, index_spec: str,
          questions: int) -> BenchReport:
    """Seconds, chunks/s (per worker) and ranking agreement of local and ray builds of the same corpora."""
    import ray

    chosen = split_methods(methods, METHODS)
    found = corpora(data, chunks)
    probe = found["questions"][:questions]
    report = BenchReport("scale", Path(data).name, len(found["repeated"]),
                         params={"chunks": len(found["repeated"]), "paragraphs": len(found["paragraphs"]),
                                 "questions": len(probe), "index": index_spec,
                                 "embedder": "bert (MiniLM): float32 on paragraphs, auto on repeated"})
    report.chart = timing_chart("chunks_per_s", "chunks/s")
    root = scratch_dir("scale")
    built: dict[str, Any] = {}
    baseline: dict[str, float] = {}
    for corpus in ("paragraphs", "repeated"):
        for method in chosen:
            log(f"bench scale: {method} on {corpus}")
            dtype = "float32" if corpus == "paragraphs" else "auto"  # exact rankings; the default runtime's speed
            col, timing = build(method, found[corpus], root / f"{corpus}-{method}", dtype, index_spec)
            metrics: dict[str, float] = {}
            if method == "local":
                baseline[corpus] = timing["seconds"]
            elif corpus in baseline:
                timing["overhead_vs_local"] = round(timing["seconds"] / baseline[corpus] - 1, 3)
            if corpus == "paragraphs":
                built[method] = col
                if method != "local" and "local" in built:
                    metrics = agreement(built["local"], col, probe)
            report.results.append(MethodResult(f"{method}:{corpus}", metrics, timing))
            ray.shutdown()  # each ray method starts its own instance with its own worker count
    return report
