"""The pieces of the label-efficiency suite: seeded stratified draws, one logistic head for every feature kind,
the scores of a draw, and the size at which a method reaches a share of its own full-data score."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

ALL = "all"


def parse_sizes(text: str) -> list[int | str]:
    """``8,16,all`` -> [8, 16, 'all'] (sorted, 'all' last); anything else is a ValueError naming the part."""
    sizes: set[int] = set()
    with_all = False
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part == ALL:
            with_all = True
        elif part.isdigit() and int(part) > 0:
            sizes.add(int(part))
        else:
            msg = f"{part!r} is neither a positive whole number nor 'all'"
            raise ValueError(msg)
    if not sizes and not with_all:
        msg = "no sizes given"
        raise ValueError(msg)
    return [*sorted(sizes), *([ALL] if with_all else [])]


def draws(labels: Sequence[str], size: int | str, repeats: int, seed: int) -> list[np.ndarray]:
    """Row numbers of ``repeats`` stratified draws of ``size`` examples per class (every row for 'all', once).

    Draw r shuffles each class with seed ``seed + r`` and takes its first ``size`` rows, so
    a larger size extends a smaller one and every method sees the same rows. A class
    with fewer rows gives all it has.
    """
    y = np.asarray(labels)
    if size == ALL:
        return [np.arange(len(y))]
    out = []
    for r in range(repeats):
        rng = np.random.default_rng(seed + r)
        picked = [rng.permutation(np.flatnonzero(y == c))[: int(size)] for c in sorted(set(labels))]
        out.append(np.sort(np.concatenate(picked)))
    return out


def fit_head(x: Any, y: Sequence[str], seed: int) -> Any:
    """Class-balanced logistic regression, C from 0.01..100 by stratified cross-validation on macro-F1 when each class
    has two rows. Balanced weights change nothing on an equal-per-class draw and keep 'all' from favouring the
    majority class."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    smallest = min(np.unique(np.asarray(y), return_counts=True)[1])
    head = LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced")
    if smallest < 2:
        return head.fit(x, y)
    folds = StratifiedKFold(n_splits=min(5, int(smallest)), shuffle=True, random_state=seed)
    return GridSearchCV(head, {"C": [0.01, 0.1, 1.0, 10.0, 100.0]}, cv=folds, scoring="f1_macro").fit(x, y)


def scores(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """Macro-F1 over the classes of ``gold`` and accuracy (of core ``classification_metrics``)."""
    from latentstack.classify.metrics import classification_metrics

    metrics = classification_metrics(gold, pred, sorted(set(gold)))
    return {"macro_f1": metrics["macro_f1"], "accuracy": metrics["accuracy"]}


def summarize(runs: list[dict[str, float]]) -> dict[str, float]:
    """Mean and spread (sample standard deviation; 0 for one run) of each score."""
    out: dict[str, float] = {}
    for key in runs[0]:
        values = np.array([r[key] for r in runs])
        out[key] = round(float(values.mean()), 4)
        out[f"{key}_sd"] = round(float(values.std(ddof=1)) if len(values) > 1 else 0.0, 4)
    return out


def reaches(curve: dict[int | str, float], share: float = 0.95) -> int | str | None:
    """The smallest size whose mean score is at least ``share`` of the 'all' score (None without an 'all' point)."""
    if ALL not in curve:
        return None
    target = share * curve[ALL]
    return next((size for size in curve if curve[size] >= target), None)


def standardized(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense features centred and scaled by the training rows' statistics (no labels used)."""
    mean, sd = train.mean(axis=0), train.std(axis=0) + 1e-6
    return (train - mean) / sd, (test - mean) / sd


def side_by_side(blocks: list[tuple[Any, Any]]) -> tuple[Any, Any]:
    """Feature blocks joined column-wise; a dense block is standardised then divided by the root of its width,
    so its rows weigh about as much as an L2-normalised sparse row."""
    import scipy.sparse as sp

    if len(blocks) == 1:
        train, test = blocks[0]
        return (train, test) if sp.issparse(train) else standardized(train, test)
    parts = []
    for train, test in blocks:
        if not sp.issparse(train):
            train, test = (b / np.sqrt(train.shape[1]) for b in standardized(train, test))
        parts.append((sp.csr_matrix(train), sp.csr_matrix(test)))
    return sp.hstack([p[0] for p in parts], format="csr"), sp.hstack([p[1] for p in parts], format="csr")
