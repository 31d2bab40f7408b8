"""``latentstack bench retrieval``: BM25, TF-IDF, dense and hybrid search on SQuAD, side by side.

The corpus is every paragraph; a question's one relevant document is its own paragraph.
Dense and hybrid run through the real search pipeline (Collection: chunker, embedder,
FAISS, BM25, SQLite). The ``dense:*`` methods compare how documents are cut: whole
articles, paragraphs, paragraphs capped at 1,000 characters (split at sentences, so that a
passage fits MiniLM's 256 tokens), or 3-sentence windows, each scored at the article level
(the only level a whole-article index can answer) and, where possible, at the paragraph
level; ``hybrid:*`` fuse BM25 over the same passages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np

from latentstack.bench.options import bench_options, split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult
from latentstack.bench.scratch import scratch_dir
from latentstack.data.squad import Question, Squad, load_squad
from latentstack.progress import log
from latentstack_bench.ranking import ranking_metrics

METHODS = ["bm25", "tfidf", "dense", "hybrid", "hybrid-rrf", "dense:article", "dense:paragraph", "dense:capped",
           "dense:sentences", "hybrid:capped", "hybrid:sentences"]
#: Each way of cutting the corpus: the chunker's mode and its cap on a passage's characters.
CUTS = {"article": ("whole", 4000), "paragraph": ("paragraph", 4000), "capped": ("paragraph", 1000),
        "sentences": ("sentences", 4000)}
DEFAULT = "bm25,tfidf,dense,hybrid,hybrid-rrf"
DEPTH = 100


class Runner:
    """Builds each retriever once and times it; methods share what they can."""

    def __init__(self, squad: Squad, questions: list[Question], model: str, pooling: str, stemmer: str) -> None:
        self.squad, self.questions = squad, questions
        self.model, self.pooling, self.stemmer = model, pooling, stemmer
        self.tmp = scratch_dir("retrieval")
        self.cache: dict[str, Any] = {}

    def texts(self) -> list[str]:
        """The question texts."""
        return [q.text for q in self.questions]

    def bm25(self) -> tuple[list[list[Any]], dict[str, float]]:
        """BM25 over paragraphs (bm25s, stemmed unless --stemmer '')."""
        from latentstack import get_index

        t0 = time.perf_counter()
        idx = get_index("bm25", stemmer=self.stemmer)
        idx.add([p.id for p in self.squad.paragraphs], [p.text for p in self.squad.paragraphs])
        idx.search_batch(["warm up"], 1)
        t1 = time.perf_counter()
        hits = idx.search_batch(self.texts(), DEPTH)
        t2 = time.perf_counter()
        self.cache["bm25"] = hits
        return [[h.id for h in hs] for hs in hits], _timing(t1 - t0, t2 - t1, len(hits))

    def tfidf(self) -> tuple[list[list[Any]], dict[str, float]]:
        """TF-IDF cosine (word 1-2-grams, sublinear tf), exact, by sparse products."""
        from latentstack import get_embedder

        t0 = time.perf_counter()
        emb = get_embedder("tfidf")
        docs = emb.fit([p.text for p in self.squad.paragraphs]).embed_many([p.text for p in self.squad.paragraphs])
        t1 = time.perf_counter()
        scores = (emb.embed_many(self.texts()) @ docs.T).toarray()
        top = np.argsort(-scores, axis=1)[:, :DEPTH]
        t2 = time.perf_counter()
        ids = [p.id for p in self.squad.paragraphs]
        return [[ids[j] for j in row] for row in top], _timing(t1 - t0, t2 - t1, len(top))

    def collection(self, mode: str) -> Any:
        """A Collection over the corpus cut by ``mode`` (a key of CUTS), exact search."""
        from latentstack.search import ChunkConfig, Collection, Document

        if mode in self.cache:
            return self.cache[mode]
        t0 = time.perf_counter()
        col = Collection.create(self.tmp / mode, embedder="bert",
                                embedder_options={"model": self.model, "pooling": self.pooling},
                                lexical_options={"stemmer": self.stemmer},  # the hybrids' BM25 is the bm25 method's
                                index="Flat", chunking=ChunkConfig(mode=CUTS[mode][0], max_chars=CUTS[mode][1]))
        if mode == "article":
            by_article: dict[int, list[str]] = {}
            for p in self.squad.paragraphs:
                by_article.setdefault(p.article, []).append(p.text)
            docs = [Document(f"a{a}", "\n\n".join(ts), metadata={"article": a}) for a, ts in by_article.items()]
        else:
            docs = [Document(p.id, p.text, p.title, {"article": p.article}) for p in self.squad.paragraphs]
        log(f"retrieval: embedding the corpus cut as {mode} ({len(docs)} documents)")
        col.add_documents(docs)
        self.cache[mode] = (col, time.perf_counter() - t0)
        return self.cache[mode]

    def query_vectors(self, col: Any) -> tuple[Any, float]:
        """The questions embedded once per embedder (every dense method reuses them; the time is charged to each)."""
        key = col.embedder.fingerprint()
        if key not in self.cache:
            t0 = time.perf_counter()
            self.cache[key] = (col.embedder.embed_many(self.texts(), "query"), time.perf_counter() - t0)
        return self.cache[key]

    def search(self, mode: str, hybrid: bool = False, fusion: str | None = None) -> tuple[list[list[Any]], dict[str, float]]:
        """Rank documents by their best chunk through the real pipeline."""
        col, build_s = self.collection(mode)
        vectors, embed_s = self.query_vectors(col)
        t0 = time.perf_counter()
        hits = col.search_many(self.texts(), DEPTH if mode != "article" else 20, hybrid=hybrid, fusion=fusion,
                               by_document=True, vectors=vectors)
        return [[h.doc_id for h in hs] for hs in hits], _timing(build_s, embed_s + time.perf_counter() - t0, len(hits))


def _timing(index_s: float, query_s: float, n: int) -> dict[str, float]:
    return {"index_s": round(index_s, 3), "query_s": round(query_s, 3), "query_per_s": round(n / max(query_s, 1e-9), 1)}


def _article_of(doc_id: str) -> str:
    return doc_id.split("-")[0]


def run_method(runner: Runner, method: str) -> MethodResult:
    """One method's rankings, scored at the paragraph level (and article level for dense:*)."""
    golds = [q.paragraph for q in runner.questions]
    table: dict[str, Callable[[], tuple[list[list[Any]], dict[str, float]]]] = {
        "bm25": runner.bm25,
        "tfidf": runner.tfidf,
        "dense": lambda: runner.search("paragraph"),
        "hybrid": lambda: runner.search("paragraph", hybrid=True, fusion="zscore"),
        "hybrid-rrf": lambda: runner.search("paragraph", hybrid=True, fusion="rrf"),
        "dense:article": lambda: runner.search("article"),
        "dense:paragraph": lambda: runner.search("paragraph"),
        "dense:capped": lambda: runner.search("capped"),
        "dense:sentences": lambda: runner.search("sentences"),
        "hybrid:capped": lambda: runner.search("capped", hybrid=True),
        "hybrid:sentences": lambda: runner.search("sentences", hybrid=True),
    }
    log(f"retrieval: {method}")
    ranked, timing = table[method]()
    metrics: dict[str, float] = {}
    if method != "dense:article":
        metrics = ranking_metrics(ranked, golds)
    if method.startswith(("dense:", "hybrid:")):
        articles = [list(dict.fromkeys(_article_of(d) for d in r)) for r in ranked]
        art = ranking_metrics(articles, [_article_of(g) for g in golds], recall_at=(1, 5), mrr_at=10)
        metrics.update({f"article_{k}": v for k, v in art.items()})
    return MethodResult(method, {k: round(v, 4) for k, v in metrics.items()}, timing)


@click.command("retrieval")
@bench_options(DEFAULT)
@click.option("--model", default="minilm", show_default=True, help="Encoder for the dense methods.")
@click.option("--pooling", type=click.Choice(["mean", "cls"]), default="mean", show_default=True)
@click.option("--stemmer", default="english", show_default=True,
              help="The stemmer of BM25, alone and in the hybrids ('' for none).")
@click.option("--half", type=click.Choice(["all", "tune", "heldout"]), default="all", show_default=True,
              help="Questions of all articles, or of one half (settings chosen on 'tune', reported on 'heldout').")
@suite
def retrieval(data: str, methods: str, limit: int | None, seed: int, model: str, pooling: str, stemmer: str,
              half: str) -> BenchReport:
    """Recall@1/5/20 and MRR@10 of BM25, TF-IDF, dense and hybrid search on a SQuAD file."""
    from latentstack.cli.options import refuse_given

    chosen = split_methods(methods, METHODS)
    if not any(m.startswith(("dense", "hybrid")) for m in chosen):
        refuse_given(("model", "pooling"), "the dense and hybrid methods only, and --methods runs none: "
                     "add one or leave {} out")
    if not any(m.startswith(("bm25", "hybrid")) for m in chosen):
        refuse_given(("stemmer",), "BM25 (the bm25 and hybrid methods) only, and --methods runs none: "
                     "add one or leave {} out")
    squad = load_squad(data)
    questions = squad.sample(limit, seed, half)
    runner = Runner(squad, questions, model, pooling, stemmer)
    report = BenchReport("retrieval", Path(data).name, len(questions),
                         params={"model": model, "pooling": pooling, "stemmer": stemmer or "none", "half": half,
                                 "corpus": len(squad.paragraphs), "seed": seed, "limit": limit or "all"})
    report.results = [run_method(runner, m) for m in chosen]
    return report


__all__: Sequence[str] = ["retrieval"]
