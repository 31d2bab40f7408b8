"""Fitting a head: logistic regression (chosen by ``search``) or naive Bayes (``naive_bayes``); out-of-fold use.

Hyperparameters (C and class weighting, or alpha) are chosen by stratified 5-fold
cross-validation on the training split only, scored by macro-F1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentstack.errors import InputError
from latentstack_linear.model import head_proba, logistic_head
from latentstack_linear.naive_bayes import fit_nb
from latentstack_linear.search import fold_count, search_logistic, stratified_folds


def fit_logistic(x: Any, y: np.ndarray, *, seed: int, c: float | None, class_weight: str | None,
                 oof: bool = False) -> dict[str, Any]:
    """A logistic head with C and class weighting chosen by cross-validation where left as None.

    With ``oof``, the head also carries ``"oof"``, ``search_logistic``'s out-of-fold probabilities.
    """
    chosen, oof_proba, fitted = search_logistic(x, y, seed=seed, c=c, class_weight=class_weight, oof=oof)
    return {**logistic_head(x, y, chosen, seed, fitted), "oof": oof_proba}


def fit_head(kind: str, x: Any, y: np.ndarray, *, seed: int, c: float | None, alpha: float | None,
             class_weight: str | None, oof: bool = False) -> dict[str, Any]:
    """Fit a head, choosing what was left as None by cross-validation; returns its arrays and choices.

    ``oof`` asks a logistic head to keep its cross-validation's out-of-fold probabilities
    (``"oof"``); naive Bayes heads have none (``out_of_fold`` fits them).
    """
    if kind == "logistic":
        return fit_logistic(x, y, seed=seed, c=c, class_weight=class_weight, oof=oof)
    if kind == "nb":
        return fit_nb(x, y, seed=seed, alpha=alpha)
    msg = f"unknown head {kind!r}; use logistic or nb"
    raise InputError(msg)


def best_threshold(proba_pos: np.ndarray, is_pos: np.ndarray) -> float:
    """The probability cut that maximises F1 of the positive class on held-out predictions."""
    best, best_f1 = 0.5, -1.0
    for t in np.unique(np.round(proba_pos, 4)):
        pred = proba_pos >= t
        tp = float(np.sum(pred & is_pos))
        f1 = 2 * tp / max(float(pred.sum() + is_pos.sum()), 1.0)
        if f1 > best_f1:
            best, best_f1 = float(t), f1
    return best


def out_of_fold(kind: str, x: Any, y: np.ndarray, chosen: dict[str, Any], seed: int) -> np.ndarray:
    """Class probabilities for each training row from a head fitted on the other folds, at the ``chosen`` setting.

    For heads that bring none from their search (naive Bayes); a logistic head fitted with ``oof`` has them.
    """
    proba = np.zeros((len(y), int(y.max()) + 1))
    for tr, te in stratified_folds(y, fold_count(y), seed):
        part = fit_head(kind, x[tr], y[tr], seed=seed, c=chosen.get("C"), alpha=chosen.get("alpha"),
                        class_weight=chosen.get("class_weight"))
        proba[te] = head_proba(kind, part["coef"], part["intercept"], x[te], part["chosen"].get("multi", ""))
    return proba
