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


# The row loops below are inlined into the pass that calls them (numba IR inlining, so compiled with the pass's
# flags): called as functions compiled apart, the same loops ran far slower.
@njit(nogil=True, cache=True, inline="always")
def _add_row(w: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, r: int, scale: float,
             dense: int) -> None:
    begin = indptr[r]
    for j in range(dense):  # the leading columns every row holds: read in order, no lookup
        w[j] += scale * data[begin + j]
    for k in range(begin + dense, indptr[r + 1]):
        w[indices[k]] += scale * data[k]
    w[w.shape[0] - 1] += scale  # the bias feature, 1 in every row


@njit(nogil=True, cache=True, inline="always")
def _dot_row(w: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, r: int, dense: int) -> float:
    begin = indptr[r]
    acc = w[w.shape[0] - 1]
    for j in range(dense):
        acc += w[j] * data[begin + j]
    for k in range(begin + dense, indptr[r + 1]):
        acc += w[indices[k]] * data[k]
    return acc


@njit(nogil=True, cache=True)
def dense_prefix(indptr: np.ndarray, indices: np.ndarray) -> int:
    """How many leading columns every row holds, in order (a dense block put first, as a hybrid's embeddings
    beside TF-IDF): the solver reads those without looking their columns up. 0 for plain sparse rows."""
    width = -1
    for r in range(indptr.shape[0] - 1):
        begin, end = indptr[r], indptr[r + 1]
        limit = end - begin if width < 0 else min(width, end - begin)
        j = 0
        while j < limit and indices[begin + j] == j:
            j += 1
        width = j
        if width == 0:
            break
    return max(width, 0)


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
def coordinate(sign_y: float, score: float, a: float, c: float, pair: np.ndarray, inner_eps: float) -> tuple[float, int, float]:
    """One row's pair of dual variables for one problem (``pair[0]`` weighs the row as labelled, ``pair[1]`` its
    complement; ``a`` its squared length, ``score`` its current score, ``c`` its C): the step the weights take
    along the row, the Newton steps, and the gradient the stopping rule reads."""
    b = sign_y * score
    lo, hi, sign = 0, 1, 1.0
    if 0.5 * a * (pair[hi] - pair[lo]) + b < 0:
        lo, hi, sign = 1, 0, -1.0
    old = pair[lo]
    z, steps, gradient = _newton(a, b, sign, c, old, inner_eps)
    if steps == 0:
        return 0.0, 0, gradient
    pair[lo], pair[hi] = z, c - z
    return sign * (z - old) * sign_y, steps, gradient


@njit(nogil=True, cache=True)
def squared_lengths(indptr: np.ndarray, data: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Each row's squared length with the bias feature (1) included."""
    out = np.empty(rows.shape[0])
    for s in range(rows.shape[0]):
        out[s] = 1.0 + np.sum(data[indptr[rows[s]]:indptr[rows[s] + 1]] ** 2)
    return out


@njit(nogil=True, cache=True)
def start(pair: np.ndarray, c: float) -> None:
    """liblinear's starting point: the row's own variable near 0, its complement near C."""
    pair[0] = min(0.001 * c, 1e-8)
    pair[1] = c - pair[0]


@njit(nogil=True, cache=True)
def _pass(order: np.ndarray, rows: np.ndarray, ysign: np.ndarray, bound: np.ndarray, xtx: np.ndarray, alpha: np.ndarray,
          w: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, dense: int,
          inner_eps: float) -> tuple[float, int]:
    """One pass over the rows in ``order``, each row's pair of dual variables updated: the largest gradient seen,
    and the Newton steps taken."""
    gmax, newton_steps = 0.0, 0
    for t in range(order.shape[0]):
        s = order[t]
        score = _dot_row(w, indptr, indices, data, rows[s], dense)
        step, steps, gradient = coordinate(ysign[s], score, xtx[s], bound[s], alpha[s], inner_eps)
        gmax = max(gmax, gradient)
        newton_steps += steps
        if steps > 0:
            _add_row(w, indptr, indices, data, rows[s], step, dense)
    return gmax, newton_steps


@njit(nogil=True, cache=True)
def dual_fit(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, dense: int, rows: np.ndarray, ysign: np.ndarray,
             bound: np.ndarray, n_features: int, tol: float, seed: int) -> tuple[np.ndarray, int]:
    """Weights (bias last) of the fit on the CSR rows ``rows`` (their first ``dense`` columns 0, 1, ... in
    every row), labels ``ysign`` (+1 or -1), each row's C in ``bound`` (C times its class's weight); and the
    passes made."""
    n = rows.shape[0]
    w = np.zeros(n_features + 1)
    xtx, alpha = squared_lengths(indptr, data, rows), np.empty((n, 2))
    for s in range(n):
        start(alpha[s], bound[s])
        _add_row(w, indptr, indices, data, rows[s], ysign[s] * alpha[s, 0], dense)
    order = np.arange(n)
    state = seed % 2147483646 + 1
    inner_eps, inner_min = 1e-2, min(1e-8, tol)
    passes = 0
    while passes < MAX_PASSES:
        state = _shuffle(order, state)
        gmax, newton_steps = _pass(order, rows, ysign, bound, xtx, alpha, w, indptr, indices, data, dense, inner_eps)
        passes += 1
        if gmax < tol:
            break
        if newton_steps <= n / 10:
            inner_eps = max(inner_min, 0.1 * inner_eps)
    return w, passes


def side_bounds(c: float, n: int, positives: np.ndarray, balanced: bool) -> np.ndarray:
    """C on a problem's positive and on its negative rows (one row per problem, of ``n`` rows with ``positives``
    positive ones): C itself, or with ``balanced`` C x n / (2 x the side's count), scikit-learn's "balanced"."""
    pos = np.asarray(positives, dtype=np.float64).reshape(-1)
    if not balanced:
        return np.full((len(pos), 2), float(c))
    return float(c) * np.stack([n / (2.0 * np.maximum(pos, 1)), n / (2.0 * np.maximum(n - pos, 1))], axis=1)


def prepare(x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """A feature matrix as the solver reads it: CSR arrays, values in float64 (converted once, not per fit), its
    width, and how many leading columns every row holds (``dense_prefix``)."""
    import scipy.sparse as sp

    x = sp.csr_matrix(x)
    return x.indptr, x.indices, x.data.astype(np.float64), x.shape[1], int(dense_prefix(x.indptr, x.indices))


def fit_binary(prepared: tuple[np.ndarray, np.ndarray, np.ndarray, int, int], rows: np.ndarray, positive: np.ndarray,
               c: float, balanced: bool, tol: float, seed: int) -> tuple[np.ndarray, float]:
    """A binary logistic fit on ``prepared``'s ``rows``, ``positive`` marking the positive class: weights and
    intercept. ``balanced`` weighs each class by n / (2 x its count), as scikit-learn's "balanced"."""
    indptr, indices, data, n_features, dense = prepared
    c_pos, c_neg = side_bounds(c, len(rows), np.array([positive.sum()]), balanced)[0]
    bound = np.where(positive, c_pos, c_neg)
    ysign = np.where(positive, 1.0, -1.0)
    w, _ = dual_fit(indptr, indices, data, dense, rows.astype(np.int64), ysign, bound, n_features, tol, seed)
    return w[:-1], float(w[-1])

