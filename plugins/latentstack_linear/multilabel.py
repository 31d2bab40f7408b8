"""Several labels per text (multi-label): one yes/no head per label over the same features.

This is one-vs-rest as scikit-learn's ``OneVsRestClassifier`` and SetFit's
``multi_target_strategy="one-vs-rest"`` train it. Each label's head is chosen by its own
cross-validation (C and class weighting, or alpha), so a rare label can weigh its few texts
up; a text gets every label whose probability reaches that label's threshold: 0.5, or with
``tune_threshold`` the cut that maximises the label's F1 out of fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentstack.errors import InputError
from latentstack.progress import progress
from latentstack_linear.heads import best_threshold, fit_head, out_of_fold
from latentstack_linear.model import head_proba


def label_matrix(labels: Sequence[Any], tune: bool) -> tuple[list[Any], np.ndarray]:
    """The classes (sorted) and which texts hold each, as a texts x classes 0/1 matrix (``label_indicators``); a
    label too rare to tune its threshold out of fold is an error too."""
    from latentstack.data.labeled import label_indicators

    classes, y = label_indicators(labels)
    counts = y.sum(axis=0)
    fewest = np.minimum(counts, len(y) - counts)
    if tune and fewest.min() < 2:
        k = int(np.argmin(fewest))
        msg = (f"label {classes[k]!r} is on {int(counts[k])} of {len(y)} texts: tuning its threshold needs "
               "out-of-fold predictions, so at least two texts with it and two without; train without "
               "--tune-threshold or add texts")
        raise InputError(msg)
    return classes, y


def fit_label_heads(kind: str, x: Any, y: np.ndarray, *, seed: int, options: dict[str, Any],
                    tune: bool) -> tuple[list[dict[str, Any]], list[float] | None]:
    """One head per column of ``y`` (``fit_head``'s, with ``options``' C, alpha and class weighting), and with
    ``tune`` each label's F1-best threshold on its out-of-fold probabilities."""
    heads, thresholds = [], []
    for k in progress(range(y.shape[1]), desc="labels", enabled=y.shape[1] >= 10):
        head = fit_head(kind, x, y[:, k], seed=seed, oof=tune, **options)
        oof = head.pop("oof", None)
        if tune:
            oof = out_of_fold(kind, x, y[:, k], head["chosen"], seed) if oof is None else oof
            thresholds.append(best_threshold(oof[:, 1], y[:, k] == 1))
        heads.append(head)
    return heads, thresholds if tune else None


def label_proba(kind: str, heads: list[dict[str, Any]], x: Any) -> np.ndarray:
    """Each label's probability for each row of ``x``: texts x labels, from that label's yes/no head."""
    columns = [head_proba(kind, h["coef"], h["intercept"], x, h["chosen"].get("multi", "multinomial"))[:, 1]
               for h in heads]
    return np.column_stack(columns) if columns else np.zeros((x.shape[0], 0))


def label_sets_of(proba: np.ndarray, classes: list[Any], thresholds: list[float] | None) -> list[list[Any]]:
    """Each row's labels: those whose probability reaches their threshold (0.5 where none was tuned)."""
    cut = np.full(len(classes), 0.5) if thresholds is None else np.asarray(thresholds)
    return [[c for c, keep in zip(classes, row, strict=True) if keep] for row in proba >= cut]
