"""Logistic regression by L-BFGS on dense features: scikit-learn's objective and stopping rule, with little around it.

The objective is scikit-learn's ``LogisticRegression(solver="lbfgs")``: the class- (or
sample-) weighted mean of the log-loss plus ``||W||^2 / (2 C sum(weights))``, the
intercepts unpenalised; one weight vector for two classes, one per class (multinomial)
beyond. The optimiser and its settings are scikit-learn's too (scipy's L-BFGS-B, gradient
tolerance 1e-4, ``ftol`` 64 machine epsilons, 50 line-search steps). What is left out is
scikit-learn's work around each fit (input checks, label encoding, its loss objects),
which on a few thousand rows of a 384-wide embedding cost about as much as the
arithmetic. The products are in the features' precision (float32 embeddings stay
float32, as scikit-learn keeps them), the loss and the optimiser's state in float64.

BLAS runs in one thread below ``ONE_THREAD_BELOW`` feature values: the products are
matrix-vector sized, where waking BLAS's threads for every product cost more than they
saved on a few thousand rows (two classes or 48); on 50,000 rows of 768 the two were
about even, each ahead in some runs, so inputs that large keep BLAS's threads
(``benchmarks/thread_costs.py``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

ONE_THREAD_BELOW = 2**24  # rows x features; the measured shapes fall either side of it
TOL = 1e-4  # scikit-learn's LogisticRegression default
MAX_ITER = 5000


def class_weights(y: np.ndarray, n_classes: int, weight: str | None) -> np.ndarray:
    """Each row's weight: 1, or with "balanced" n / (n_classes x its class's count), scikit-learn's rule."""
    if weight is None:
        return np.ones(len(y))
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    return (len(y) / (n_classes * counts))[y]


def _binary(w: np.ndarray, x: np.ndarray, target: np.ndarray, sw: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    """Loss and gradient of a binary head (weights then intercept), ``sw`` the row weights over their sum."""
    from scipy.special import expit

    z = x @ w[:-1].astype(x.dtype) + w[-1]
    loss = float(sw @ (np.logaddexp(0.0, z) - target * z)) + 0.5 * l2 * float(w[:-1] @ w[:-1])
    residual = sw * (expit(z) - target)
    return loss, np.append(x.T @ residual.astype(x.dtype) + l2 * w[:-1], residual.sum())


def _multinomial(w: np.ndarray, x: np.ndarray, target: np.ndarray, sw: np.ndarray, l2: float,
                 n_classes: int) -> tuple[float, np.ndarray]:
    """Loss and gradient of a multinomial head, ``w`` its (classes, features + 1) matrix flattened by rows."""
    weights = w.reshape(n_classes, -1)
    z = (x @ weights[:, :-1].T.astype(x.dtype)).astype(np.float64) + weights[:, -1]
    z -= z.max(axis=1, keepdims=True)  # each row's log-sum-exp is then the log of a sum between 1 and the classes
    rows = np.arange(len(target))
    picked = z[rows, target]
    np.exp(z, out=z)
    total = z.sum(axis=1)
    loss = float(sw @ (np.log(total) - picked)) + 0.5 * l2 * float(np.sum(weights[:, :-1] ** 2))
    z *= (sw / total)[:, None]  # each row's probabilities, weighted
    z[rows, target] -= sw
    grad = np.empty_like(weights)
    grad[:, :-1] = z.T.astype(x.dtype) @ x + l2 * weights[:, :-1]
    grad[:, -1] = z.sum(axis=0)
    return loss, grad.ravel()


def lbfgs_path(x: Any, y: np.ndarray, grid: list[float], weight: str | None) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Fits at each C of ``grid`` (ascending), each started from the last one's weights: weights, intercepts and
    "multinomial" per C. Classes are those present in ``y`` (two: one weight vector, for the second class)."""
    from threadpoolctl import threadpool_limits

    if np.prod(np.shape(x)) >= ONE_THREAD_BELOW:
        return _path(x, y, grid, weight)
    with threadpool_limits(limits=1):
        return _path(x, y, grid, weight)


def _path(x: Any, y: np.ndarray, grid: list[float], weight: str | None) -> list[tuple[np.ndarray, np.ndarray, str]]:
    from scipy.optimize import minimize

    x = np.asarray(x)
    x = x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)
    classes, target = np.unique(y, return_inverse=True)
    n_classes, width = len(classes), x.shape[1] + 1
    sw = class_weights(target, n_classes, weight)
    total, sw = float(sw.sum()), sw / sw.sum()
    binary = n_classes == 2  # one weight vector, for the second class
    func: Any = _binary if binary else partial(_multinomial, n_classes=n_classes)
    labels = target.astype(np.float64) if binary else target
    w = np.zeros(width if binary else n_classes * width)
    options = {"maxiter": MAX_ITER, "maxls": 50, "gtol": TOL, "ftol": 64 * np.finfo(float).eps}
    fits = []
    for c in grid:
        w = minimize(func, w, args=(x, labels, sw, 1.0 / (c * total)), method="L-BFGS-B", jac=True, options=options).x
        weights = w.reshape(1 if binary else n_classes, width)
        fits.append((weights[:, :-1].copy(), weights[:, -1].copy(), "multinomial"))
    return fits
