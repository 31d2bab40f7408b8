"""Ranking metrics shared by the retrieval and RAG suites."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def first_rank(ranked: Sequence[object], gold: object) -> int:
    """1-based rank of ``gold`` in ``ranked``, or 0 when absent."""
    for i, item in enumerate(ranked, start=1):
        if item == gold:
            return i
    return 0


def ranking_metrics(rankings: Sequence[Sequence[object]], golds: Sequence[object],
                    recall_at: Sequence[int] = (1, 5, 20), mrr_at: int = 10) -> dict[str, float]:
    """Recall@k for each k and MRR@mrr_at, over queries with one relevant item each."""
    ranks = np.array([first_rank(r, g) for r, g in zip(rankings, golds, strict=True)])
    found = ranks > 0
    out = {f"recall@{k}": float(np.mean(found & (ranks <= k))) for k in recall_at}
    rr = np.where(found & (ranks <= mrr_at), 1.0 / np.maximum(ranks, 1), 0.0)
    out[f"mrr@{mrr_at}"] = float(rr.mean())
    return out
