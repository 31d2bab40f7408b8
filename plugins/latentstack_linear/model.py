"""Logistic heads fitted along a C grid (lbfgs, or the dual solver), and any head as plain arrays with its probabilities.

The solver follows the problem's shape: coordinate descent on the dual, liblinear's
algorithm (``dual_cd``; one-vs-rest beyond two classes, at liblinear's own tolerance),
for sparse or wide features such as TF-IDF, where it converges in a fraction of lbfgs's
time; lbfgs (multinomial) for dense embeddings, warm-started along a C grid. A fitted
head is a few numpy arrays; prediction is done here from them, so saving needs no pickle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
COARSE_C_GRID = (0.3, 3.0, 30.0)  # dual fits start cold (a scaled warm start took more passes): every other point
DUAL_TOL = 0.1  # liblinear's own default for its dual solvers (scikit-learn passes 1e-4)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def solver_for(x: Any) -> str:
    """Dual coordinate descent for sparse or wide features, lbfgs for dense ones."""
    return "dual-cd" if hasattr(x, "indptr") or x.shape[1] > x.shape[0] else "lbfgs"


def fit_path(solver: str, x: Any, rows: np.ndarray, y: np.ndarray, grid: list[float], weight: str | None, seed: int,
             prepared: Any = None) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Fits on ``x``'s ``rows`` at each C of ``grid`` and a class weighting: weights, intercepts and how the
    classes combine, per C. ``prepared`` is ``x`` as the dual solver reads it (``dual_cd.prepare``), made once
    for many fits."""
    if solver == "lbfgs":
        from latentstack_linear.lbfgs import lbfgs_path

        return lbfgs_path(x[rows], y[rows], grid, weight)
    from latentstack_linear.dual_cd import fit_binary, fit_ovr, prepare

    prepared, n_classes, balanced = prepared or prepare(x), int(y.max()) + 1, weight == "balanced"
    if n_classes > 2:  # one head per class against the rest, fitted together
        return [(*fit_ovr(prepared, rows, y[rows], n_classes, c, balanced, DUAL_TOL, seed), "ovr") for c in grid]
    fits = [fit_binary(prepared, rows, y[rows] == 1, c, balanced, DUAL_TOL, seed) for c in grid]
    return [(w[None, :], np.array([b]), "multinomial") for w, b in fits]


def logistic_head(x: Any, y: np.ndarray, chosen: dict[str, Any], seed: int, fitted: Any = None) -> dict[str, Any]:
    """The head at a chosen setting: the weights of ``fitted`` (``search_logistic``'s whole-split fit), or a fit."""
    if fitted is None:
        weight = None if chosen["class_weight"] == "none" else chosen["class_weight"]
        fitted = fit_path(chosen["solver"], x, np.arange(len(y)), y, [chosen["C"]], weight, seed)[0]
    coef, intercept, multi = fitted
    return {"coef": coef.astype(np.float32), "intercept": intercept.astype(np.float32), "chosen": {**chosen, "multi": multi}}


def head_proba(kind: str, coef: np.ndarray, intercept: np.ndarray, x: Any, multi: str = "multinomial") -> np.ndarray:
    """Class probabilities from a head's arrays (one-vs-rest heads: each class's sigmoid, normalised)."""
    z = np.asarray(x @ coef.T) + intercept
    if kind == "logistic" and coef.shape[0] == 1:
        p = 1.0 / (1.0 + np.exp(-z[:, 0]))
        return np.stack([1.0 - p, p], axis=1)
    if kind == "logistic" and multi == "ovr":
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        return p / p.sum(axis=1, keepdims=True)
    return softmax(z)
