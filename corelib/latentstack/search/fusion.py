"""Fusing a dense and a lexical ranking into one.

``zscore`` (the default) turns each retriever's scores into z-scores over its own top
list for this query, (s - mean) / std, and adds them; a candidate missing from one
list gets that list's lowest z-score (an upper bound of its true score). A lexical
index lists only the passages that hold a query word: when it lists fewer than the
dense ranking holds, the others score 0 in it, and its z-scores are taken over the
whole pool, those zeros included (they are then the floor): a word found in one
passage alone (an invoice number, a name), or in a few that score alike, stands out
from the passages without it, where a list with no spread gave it nothing and the
hybrid ranked far below BM25 alone. A retriever
that is unsure (a flat score list, typical of a small encoder out of its domain) yields
small z-scores and so counts less, while a sharp lexical match still stands out. That is
why it stays about level with the better part, or above it, where plain RRF can fall below
BM25 (with a weak encoder; docs/benchmarks.md, "Retrieval", has the measurements).

``rrf`` is plain reciprocal rank fusion (Cormack et al. 2009, k=60), kept for comparison.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from latentstack.errors import InputError
from latentstack.interfaces import Hit

METHODS = ("zscore", "rrf")


def zscores(hits: Sequence[Hit], pool: int = 0) -> tuple[dict[object, float], float]:
    """Each hit's z-score within its list, and the list's floor (its lowest z-score); with ``pool`` above the
    list's length, over the pool, the candidates the list leaves out scoring 0 (the floor is then theirs)."""
    if not hits:
        return {}, 0.0
    s = np.array([h.score for h in hits], dtype=np.float64)
    unlisted = max(pool - len(s), 0)
    whole = np.concatenate([s, np.zeros(unlisted)])
    mean, std = whole.mean(), whole.std() + 1e-9
    z = (s - mean) / std
    return {h.id: float(v) for h, v in zip(hits, z, strict=True)}, float(min(z.min(), -mean / std) if unlisted else z.min())


def zscore_fusion(rankings: Sequence[Sequence[Hit]], pools: Sequence[int] = ()) -> list[Hit]:
    """Sum of per-list z-scores (list i's over ``pools[i]`` candidates, where given); missing candidates take that
    list's floor."""
    tables = [zscores(r, pools[i] if i < len(pools) else 0) for i, r in enumerate(rankings)]
    first: dict[str | int, Hit] = {}
    for r in rankings:
        for h in r:
            first.setdefault(h.id, h)
    fused = {i: sum(t.get(i, floor) for t, floor in tables) for i in first}
    return [Hit(i, fused[i], first[i].metadata) for i in sorted(fused, key=lambda i: -fused[i])]


def rrf(rankings: Sequence[Sequence[Hit]], k: int = 60) -> list[Hit]:
    """Reciprocal rank fusion: score = sum over lists of 1 / (k + rank)."""
    scores: dict[str | int, float] = {}
    first: dict[object, Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.id] = scores.get(hit.id, 0.0) + 1.0 / (k + rank)
            first.setdefault(hit.id, hit)
    return [Hit(i, scores[i], first[i].metadata) for i in sorted(scores, key=lambda i: -scores[i])]


def check_fusion(fusion: str | None, hybrid: bool) -> str:
    """The fusion a search runs: zscore unless one of METHODS is named, and a name only for a hybrid search (with
    one ranking there is nothing to fuse, and a named fusion would be ignored)."""
    if fusion is None:
        return "zscore"
    if not hybrid:
        msg = "fusion chooses how hybrid search fuses its two rankings; with hybrid off there is one ranking: drop one"
        raise InputError(msg)
    if fusion not in METHODS:
        msg = f"fusion must be 'zscore' or 'rrf', got {fusion!r}"
        raise InputError(msg)
    return fusion


def fuse(dense: Sequence[Hit], lexical: Sequence[Hit], method: str = "zscore", k: int = 60) -> list[Hit]:
    """One ranking from a dense and a lexical one (see the module docs for ``method``)."""
    if method == "zscore":
        return zscore_fusion([dense, lexical], pools=[0, len(dense)])
    if method == "rrf":
        return rrf([dense, lexical], k=k)
    msg = f"unknown fusion {method!r}; choose one of {', '.join(METHODS)}"
    raise ValueError(msg)
