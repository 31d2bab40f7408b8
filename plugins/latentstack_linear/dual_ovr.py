"""One-vs-rest logistic heads by dual coordinate descent, every class's head in the same pass over the rows.

Each class against the rest is its own problem, solved as ``dual_cd`` solves a binary one
(liblinear's steps and stopping rule, per class). What is shared is the pass: the rows
are visited once per pass in one random order, and a row's scores for all classes are
one read of its features against a weight matrix laid out feature-major (a feature's
weights for every class side by side, so they are read and updated as one vector). With
48 classes that reads each row once per pass instead of 48 times. A class whose largest
gradient fell below the tolerance stops updating; the passes end when all have.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from latentstack_linear.dual_cd import MAX_PASSES, _shuffle, coordinate, side_bounds, squared_lengths, start


@njit(nogil=True, cache=True, fastmath=True)
def _scores(w: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, r: int, out: np.ndarray) -> None:
    """Every class's score of row ``r`` (its bias last in ``w``) into ``out``."""
    out[:] = w[w.shape[0] - 1]
    for p in range(indptr[r], indptr[r + 1]):
        j, v = indices[p], data[p]
        for k in range(out.shape[0]):
            out[k] += w[j, k] * v


@njit(nogil=True, cache=True, fastmath=True)
def _add(w: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, r: int, step: np.ndarray) -> None:
    """w += row ``r`` (and the bias feature) times each class's ``step``."""
    for p in range(indptr[r], indptr[r + 1]):
        j, v = indices[p], data[p]
        for k in range(step.shape[0]):
            w[j, k] += step[k] * v
    for k in range(step.shape[0]):
        w[w.shape[0] - 1, k] += step[k]


@njit(nogil=True, cache=True)
def _pass(order: np.ndarray, rows: np.ndarray, labels: np.ndarray, bounds: np.ndarray, xtx: np.ndarray,
          alpha: np.ndarray, w: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
          inner_eps: np.ndarray, done: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One pass over the rows for every class not yet done: each class's largest gradient and Newton steps."""
    n_classes = w.shape[1]
    gmax, newton = np.zeros(n_classes), np.zeros(n_classes, dtype=np.int64)
    scores, step = np.empty(n_classes), np.zeros(n_classes)
    for t in range(order.shape[0]):
        s = order[t]
        _scores(w, indptr, indices, data, rows[s], scores)
        moved = False
        for k in range(n_classes):
            step[k] = 0.0
            if done[k]:
                continue
            positive = labels[s] == k
            c = bounds[k, 0] if positive else bounds[k, 1]
            step[k], steps, gradient = coordinate(1.0 if positive else -1.0, scores[k], xtx[s], c, alpha[s, k],
                                               inner_eps[k])
            gmax[k], newton[k] = max(gmax[k], gradient), newton[k] + steps
            moved = moved or steps > 0
        if moved:
            _add(w, indptr, indices, data, rows[s], step)
    return gmax, newton


@njit(nogil=True, cache=True)
def ovr_fit(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, rows: np.ndarray, labels: np.ndarray,
            bounds: np.ndarray, n_features: int, tol: float, seed: int) -> tuple[np.ndarray, int]:
    """Weights (features x classes, the bias last) of every class against the rest on the CSR rows ``rows``
    labelled ``labels``; ``bounds[k]`` holds class k's C for its own rows and for the others'. And the passes."""
    n, n_classes = rows.shape[0], bounds.shape[0]
    w = np.zeros((n_features + 1, n_classes))
    xtx, alpha = squared_lengths(indptr, data, rows), np.empty((n, n_classes, 2))
    step = np.empty(n_classes)
    for s in range(n):
        for k in range(n_classes):
            start(alpha[s, k], bounds[k, 0] if labels[s] == k else bounds[k, 1])
            step[k] = alpha[s, k, 0] * (1.0 if labels[s] == k else -1.0)
        _add(w, indptr, indices, data, rows[s], step)
    order = np.arange(n)
    state = seed % 2147483646 + 1
    inner_eps, inner_min = np.full(n_classes, 1e-2), min(1e-8, tol)
    done = np.zeros(n_classes, dtype=np.bool_)
    passes = 0
    while passes < MAX_PASSES and not done.all():
        state = _shuffle(order, state)
        gmax, newton = _pass(order, rows, labels, bounds, xtx, alpha, w, indptr, indices, data, inner_eps, done)
        passes += 1
        for k in range(n_classes):
            if gmax[k] < tol:
                done[k] = True
            elif newton[k] <= n / 10:
                inner_eps[k] = max(inner_min, 0.1 * inner_eps[k])
    return w, passes


def fit_ovr(prepared: tuple[np.ndarray, np.ndarray, np.ndarray, int, int], rows: np.ndarray, labels: np.ndarray,
            n_classes: int, c: float, balanced: bool, tol: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every class against the rest on ``prepared``'s ``rows`` (``labels`` their classes): weights (classes x
    features) and intercepts. ``balanced`` weighs each side of each problem by n / (2 x its count)."""
    indptr, indices, data, n_features, _ = prepared  # this kernel looks every column up, a dense prefix too
    bounds = side_bounds(c, len(rows), np.bincount(labels, minlength=n_classes), balanced)
    w, _ = ovr_fit(indptr, indices, data, rows.astype(np.int64), labels.astype(np.int64), bounds, n_features, tol, seed)
    return np.ascontiguousarray(w[:-1].T), w[-1].copy()
