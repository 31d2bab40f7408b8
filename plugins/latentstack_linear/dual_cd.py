"""L2-regularised logistic regression by coordinate descent on its dual, liblinear's solver, compiled with numba.

The algorithm and its constants are liblinear's ``solve_l2r_lr_dual`` (Yu, Huang and
Lin, "Dual coordinate descent methods for logistic regression and maximum entropy
models", 2011), with the bias handled as scikit-learn's liblinear does (a constant
feature of 1, regularised) and liblinear's stopping rule (the largest gradient of a
pass below ``tol``). What differs is around it:

- it reads the rows of a CSR matrix by index, so a fold is an index array, not a copy
  converted to liblinear's own format for every fit;
- its random order comes from its own generator, seeded per fit, and it runs without the
  GIL, so fits in threads run side by side and give the same weights on every run
  (scikit-learn's liblinear draws from one generator per process).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

INNER_STEPS = 100  # Newton steps on one coordinate's sub-problem, as liblinear
MAX_PASSES = 2000  # passes over the rows, as the head asked scikit-learn's liblinear for


@njit(nogil=True, cache=True)
def _next(state: int) -> int:
    """The Park-Miller generator (MINSTD): values in 1 .. 2**31 - 2, in int64 without overflow."""
    return (state * 48271) % 2147483647


@njit(nogil=True, cache=True)
def _add_row(w: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, r: int, scale: float) -> None:
    for k in range(indptr[r], indptr[r + 1]):
        w[indices[k]] += scale * data[k]
    w[w.shape[0] - 1] += scale  # the bias feature, 1 in every row


@njit(nogil=True, cache=True, fastmath=True)
def _dot_row(w: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, r: int) -> float:
    acc = w[w.shape[0] - 1]
    for k in range(indptr[r], indptr[r + 1]):
        acc += w[indices[k]] * data[k]
    return acc


@njit(nogil=True, cache=True)
def _newton(a: float, b: float, sign: float, c: float, alpha_old: float, eps: float) -> tuple[float, int, float]:
    """One coordinate's sub-problem by liblinear's Newton steps: the new value, the steps taken, and the size of
    the gradient at the start (what the stopping rule reads)."""
    z = alpha_old
    if c - z < 0.5 * c:
        z = 0.1 * z
    gp = a * (z - alpha_old) + sign * b + math.log(z / (c - z))
    start = abs(gp)
    steps = 0
    while steps <= INNER_STEPS and abs(gp) >= eps:
        tmpz = z - gp / (a + c / (c - z) / z)
        z = z * 0.1 if tmpz <= 0 else tmpz
        gp = a * (z - alpha_old) + sign * b + math.log(z / (c - z))
        steps += 1
    return z, steps, start


@njit(nogil=True, cache=True)
def _shuffle(order: np.ndarray, state: int) -> int:
    n = order.shape[0]
    for i in range(n - 1):
        state = _next(state)
        j = i + state % (n - i)
        order[i], order[j] = order[j], order[i]
    return state


@njit(nogil=True, cache=True)
def _pass(order: np.ndarray, rows: np.ndarray, ysign: np.ndarray, bound: np.ndarray, xtx: np.ndarray, alpha: np.ndarray,
          w: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, inner_eps: float) -> tuple[float, int]:
    """One pass over the rows in ``order``, each row's pair of dual variables updated: the largest gradient seen,
    and the Newton steps taken."""
    gmax, newton_steps = 0.0, 0
    for t in range(order.shape[0]):
        s = order[t]
        b = ysign[s] * _dot_row(w, indptr, indices, data, rows[s])
        lo, hi, sign = 2 * s, 2 * s + 1, 1.0
        if 0.5 * xtx[s] * (alpha[hi] - alpha[lo]) + b < 0:
            lo, hi, sign = 2 * s + 1, 2 * s, -1.0
        alpha_old = alpha[lo]
        z, steps, gradient = _newton(xtx[s], b, sign, bound[s], alpha_old, inner_eps)
        gmax = max(gmax, gradient)
        newton_steps += steps
        if steps > 0:
            alpha[lo], alpha[hi] = z, bound[s] - z
            _add_row(w, indptr, indices, data, rows[s], sign * (z - alpha_old) * ysign[s])
    return gmax, newton_steps


@njit(nogil=True, cache=True)
def dual_fit(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, rows: np.ndarray, ysign: np.ndarray,
             bound: np.ndarray, n_features: int, tol: float, seed: int) -> tuple[np.ndarray, int]:
    """Weights (bias last) of the fit on the CSR rows ``rows``, labels ``ysign`` (+1 or -1), each row's C in
    ``bound`` (C times its class's weight); and the passes made."""
    n = rows.shape[0]
    w = np.zeros(n_features + 1)
    xtx = np.empty(n)
    alpha = np.empty(2 * n)
    for s in range(n):
        xtx[s] = 1.0 + np.sum(data[indptr[rows[s]]:indptr[rows[s] + 1]] ** 2)
        alpha[2 * s] = min(0.001 * bound[s], 1e-8)
        alpha[2 * s + 1] = bound[s] - alpha[2 * s]
        _add_row(w, indptr, indices, data, rows[s], ysign[s] * alpha[2 * s])
    order = np.arange(n)
    state = seed % 2147483646 + 1
    inner_eps, inner_min = 1e-2, min(1e-8, tol)
    passes = 0
    while passes < MAX_PASSES:
        state = _shuffle(order, state)
        gmax, newton_steps = _pass(order, rows, ysign, bound, xtx, alpha, w, indptr, indices, data, inner_eps)
        passes += 1
        if gmax < tol:
            break
        if newton_steps <= n / 10:
            inner_eps = max(inner_min, 0.1 * inner_eps)
    return w, passes


def prepare(x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A feature matrix as the solver reads it: CSR arrays, values in float64 (converted once, not per fit)."""
    import scipy.sparse as sp

    x = sp.csr_matrix(x)
    return x.indptr, x.indices, x.data.astype(np.float64), x.shape[1]


def fit_binary(prepared: tuple[np.ndarray, np.ndarray, np.ndarray, int], rows: np.ndarray, positive: np.ndarray,
               c: float, balanced: bool, tol: float, seed: int) -> tuple[np.ndarray, float]:
    """A binary logistic fit on ``prepared``'s ``rows``, ``positive`` marking the positive class: weights and
    intercept. ``balanced`` weighs each class by n / (2 x its count), as scikit-learn's "balanced"."""
    indptr, indices, data, n_features = prepared
    bound = np.full(len(rows), float(c))
    if balanced:
        n_pos = int(positive.sum())
        bound *= np.where(positive, len(rows) / (2.0 * max(n_pos, 1)), len(rows) / (2.0 * max(len(rows) - n_pos, 1)))
    ysign = np.where(positive, 1.0, -1.0)
    w, _ = dual_fit(indptr, indices, data, rows.astype(np.int64), ysign, bound, n_features, tol, seed)
    return w[:-1], float(w[-1])

