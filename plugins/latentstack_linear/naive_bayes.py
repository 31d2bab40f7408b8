"""Multinomial naive Bayes heads, and the cross-validation of their smoothing, with numpy alone.

A multinomial naive Bayes head is its per-class feature totals, smoothed and logged, so
every fold's totals are counted once and each alpha of the grid is a sum and a log away.
The head, its probabilities and the alpha chosen are scikit-learn's ``MultinomialNB``
under ``GridSearchCV`` (5 stratified folds, macro-F1, ties to the first alpha), which a
test compares; what is left out is scikit-learn itself, whose import costs a fresh
process seconds, and refitting the totals for every alpha.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentstack.errors import InputError
from latentstack_linear.search import fold_count, macro_f1, stratified_folds

ALPHA_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def _totals(x: Any, y: np.ndarray, rows: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Each class's feature totals over ``rows`` (classes x features, float64) and its row count."""
    onehot = np.zeros((len(rows), n_classes))
    onehot[np.arange(len(rows)), y[rows]] = 1.0
    return np.asarray((x[rows].T @ onehot).T, dtype=np.float64), onehot.sum(axis=0)


def _head(totals: np.ndarray, counts: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed log feature probabilities (the head's weights) and log class priors (its intercepts)."""
    smoothed = totals + alpha
    return np.log(smoothed) - np.log(smoothed.sum(axis=1, keepdims=True)), np.log(counts) - np.log(counts.sum())


def check_non_negative(x: Any) -> None:
    """Multinomial naive Bayes reads features as counts: a negative value is refused with what to use instead."""
    values = x.data if hasattr(x, "indptr") else np.asarray(x)
    if values.size and values.min() < 0:
        msg = "the nb head needs non-negative features: use it with --embedder tfidf"
        raise InputError(msg)


def fit_nb(x: Any, y: np.ndarray, *, seed: int, alpha: float | None) -> dict[str, Any]:
    """The head at ``alpha``, or at the alpha of the grid with the best mean fold macro-F1 (the first of equal
    scores) when ``alpha`` is None: weights, intercepts and the alpha."""
    check_non_negative(x)
    n_classes = int(y.max()) + 1
    grid = [alpha] if alpha else list(ALPHA_GRID)
    folds = fold_count(y)
    if len(grid) > 1 and folds >= 2:
        scores = np.zeros((len(grid), folds))
        for k, (train, test) in enumerate(stratified_folds(y, folds, seed)):  # every class in every fold's rows
            totals, counts = _totals(x, y, train, n_classes)
            held_out = x[test]  # sliced once per fold, scored at every alpha
            for i, a in enumerate(grid):
                coef, prior = _head(totals, counts, a)
                scores[i, k] = macro_f1(y[test], (np.asarray(held_out @ coef.T) + prior).argmax(axis=1))
        chosen = grid[int(np.argmax(scores.mean(axis=1)))]  # argmax keeps the first of equal scores
    else:
        chosen = grid[len(grid) // 2]
    coef, prior = _head(*_totals(x, y, np.arange(len(y)), n_classes), chosen)
    return {"coef": coef.astype(np.float32), "intercept": prior.astype(np.float32), "chosen": {"alpha": chosen}}
