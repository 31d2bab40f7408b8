"""Fusing feature blocks: their heads stacked, or the blocks side by side under one head, and which scores best."""

from __future__ import annotations

from typing import Any

import numpy as np

from latentstack_linear.heads import fit_head
from latentstack_linear.search import macro_f1

FLOOR = 1e-6  # probabilities are clipped here before their log


def log_proba(p: np.ndarray) -> np.ndarray:
    """Clipped log-probabilities, the stacking features."""
    return np.log(np.clip(p, FLOOR, 1.0))


def fit_meta(oofs: list[np.ndarray], y: np.ndarray, seed: int) -> dict[str, Any]:
    """The stack's meta-model: a logistic regression over the blocks' out-of-fold log-probabilities, its C
    cross-validated, with ``"oof"``, its own out-of-fold probabilities.

    It is fitted on them divided by -log(FLOOR), so in [-1, 0], where lbfgs needs about a
    tenth of the iterations it needs on values down to -13.8; its weights are divided the
    same way afterwards, so it reads plain log-probabilities. (The scale moves what each
    C of the grid means; cross-validation picks among them as before.)
    """
    scale = -np.log(FLOOR)
    meta = fit_head("logistic", np.hstack([log_proba(o) for o in oofs]) / scale, y, seed=seed, c=None, alpha=None,
                    class_weight="none", oof=True)
    return {**meta, "coef": (meta["coef"] / scale).astype(np.float32)}


def macro_f1_of(proba: np.ndarray, y: np.ndarray) -> float:
    """Macro-F1 of the argmax of class probabilities."""
    return macro_f1(y, proba.argmax(axis=1))


def side_by_side(blocks: list[Any]) -> Any:
    """The feature blocks as one sparse matrix, each block's rows scaled to unit length first.

    A dense block (embeddings) keeps its zeros as stored entries, so that every row holds
    its columns in order: the dual solver reads such a leading block without looking its
    columns up (``dual_cd.dense_prefix``), which one exact zero in any row would end there
    (bf16 embeddings hold a few).
    """
    import scipy.sparse as sp

    from latentstack.sparse import unit_rows

    return sp.hstack([unit_rows(b, keep_zeros=True) for b in blocks], format="csr", dtype=np.float32)


def best_fusion(scores: dict[str, float]) -> str:
    """The fusion with the best cross-validated score; earlier entries win ties (the stack first).

    A single block or the side-by-side head replaces the stack only when it scores
    strictly higher, so the hybrid is never worse than its better part on the folds.
    """
    return max(scores, key=lambda k: (scores[k], -list(scores).index(k)))

