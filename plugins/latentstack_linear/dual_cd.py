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

Beyond two classes (``fit_ovr``), each class against the rest is its own problem, solved
as the binary one is (liblinear's steps and stopping rule, per class). What is shared is
the pass: the rows are visited once per pass in one random order, and a row's scores for
all classes are one read of its features against a weight matrix laid out feature-major
(a feature's weights for every class side by side, read and updated as one vector), so
with 48 classes each row is read once per pass instead of 48 times. A class whose largest
gradient fell below the tolerance stops updating; the passes end when all have.

Both solvers live in this one file because numba's on-disk cache of a compiled function
is renewed when its own file changes, not when a function it calls from another file
does: split, an edit here would leave the one-vs-rest solver running stale code.
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


# --- every class against the rest, in shared passes (one-vs-rest) ---------------------------------------------


@njit(nogil=True, cache=True, fastmath=True)
def _ovr_scores(w: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, r: int, out: np.ndarray) -> None:
    """Every class's score of row ``r`` (its bias last in ``w``) into ``out``."""
    out[:] = w[w.shape[0] - 1]
    for p in range(indptr[r], indptr[r + 1]):
        j, v = indices[p], data[p]
        for k in range(out.shape[0]):
            out[k] += w[j, k] * v


@njit(nogil=True, cache=True, fastmath=True)
def _ovr_add(w: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, r: int, step: np.ndarray) -> None:
    """w += row ``r`` (and the bias feature) times each class's ``step``."""
    for p in range(indptr[r], indptr[r + 1]):
        j, v = indices[p], data[p]
        for k in range(step.shape[0]):
            w[j, k] += step[k] * v
    for k in range(step.shape[0]):
        w[w.shape[0] - 1, k] += step[k]


@njit(nogil=True, cache=True)
def _ovr_pass(order: np.ndarray, rows: np.ndarray, labels: np.ndarray, bounds: np.ndarray, xtx: np.ndarray,
              alpha: np.ndarray, w: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
              inner_eps: np.ndarray, done: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One pass over the rows for every class not yet done: each class's largest gradient and Newton steps."""
    n_classes = w.shape[1]
    gmax, newton = np.zeros(n_classes), np.zeros(n_classes, dtype=np.int64)
    scores, step = np.empty(n_classes), np.zeros(n_classes)
    for t in range(order.shape[0]):
        s = order[t]
        _ovr_scores(w, indptr, indices, data, rows[s], scores)
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
            _ovr_add(w, indptr, indices, data, rows[s], step)
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
        _ovr_add(w, indptr, indices, data, rows[s], step)
    order = np.arange(n)
    state = seed % 2147483646 + 1
    inner_eps, inner_min = np.full(n_classes, 1e-2), min(1e-8, tol)
    done = np.zeros(n_classes, dtype=np.bool_)
    passes = 0
    while passes < MAX_PASSES and not done.all():
        state = _shuffle(order, state)
        gmax, newton = _ovr_pass(order, rows, labels, bounds, xtx, alpha, w, indptr, indices, data, inner_eps, done)
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
