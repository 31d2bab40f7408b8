"""Cross-validation of a logistic head: which C and class weighting, scored by macro-F1 on 5 stratified folds.

The search is coordinate-wise, C first, then the class weighting at the C that won. The
fold fits that score a setting also give its out-of-fold probabilities, which stacking
and threshold tuning need, so nothing is fitted twice. Folds run side by side in threads
where there are cores: lbfgs releases the GIL in BLAS and numpy, the dual solver in its
compiled loop, and each fit draws from its own seeded generator, so results do not
depend on how the fits interleave.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentstack_linear.model import C_GRID, COARSE_C_GRID, fit_path, head_proba, solver_for


def _fold_probas(x: Any, y: np.ndarray, train: np.ndarray, test: np.ndarray, grid: list[float],
                 weight: str | None, solver: str, seed: int, prepared: Any) -> tuple[list[np.ndarray], Any]:
    """Class probabilities of one fold's test rows for each C of ``grid`` (ascending; lbfgs warm-starts along it);
    with no test rows (a fit on every row), the last fit's weights too."""
    fits, xte = fit_path(solver, x, train, y, grid, weight, seed, prepared), x[test]
    return [head_proba("logistic", coef, b, xte, multi) for coef, b, multi in fits], (fits[-1] if len(test) == 0 else None)


def _choose_logistic(x: Any, y: np.ndarray, grid: list[float], weights: list[str | None], solver: str, seed: int,
                     oof: bool) -> tuple[float, str | None, float | None, np.ndarray | None, Any]:
    """The (C, class_weight) with the best mean fold macro-F1, that score, its out-of-fold class probabilities,
    and the weights of a fit on every row made alongside the folds where the setting was given or is the class
    weighting tried last (else None: the caller fits it).

    The search is coordinate-wise: every C with the first class weighting, then the other
    weightings at the C that won (ties keep the earlier setting). The folds run when there
    is something to compare, or when ``oof`` asks for the probabilities (stacking,
    threshold tuning): the fits that score a setting also give its out-of-fold
    probabilities, so nothing is fitted twice.
    """
    folds = fold_count(y)
    given = len(grid) == 1 and len(weights) == 1
    if folds < 2 or (given and not oof):
        return grid[len(grid) // 2], weights[0], None, None, None
    splits = stratified_folds(y, folds, seed)
    tried, whole = _cross_validate(x, y, splits, grid, weights[:1], solver, seed, whole=given)
    scores = {setting: _mean_f1(probas, y, splits) for setting, probas in tried.items()}
    if len(weights) > 1:  # its whole-split fit runs beside its folds, kept if that setting wins
        best_c = max(scores, key=scores.__getitem__)[0]
        more, last = _cross_validate(x, y, splits, [best_c], weights[1:], solver, seed, whole=len(weights) == 2)
        tried.update(more)
        scores.update({setting: _mean_f1(probas, y, splits) for setting, probas in more.items()})
    (c, weight) = max(scores, key=scores.__getitem__)  # the first of equal scores
    if len(weights) == 2 and (c, weight) == (best_c, weights[1]):
        whole = last
    out = np.zeros((len(y), int(y.max()) + 1))
    for probas, (_, test) in zip(tried[(c, weight)], splits, strict=True):
        out[test] = probas
    return c, weight, scores[(c, weight)], out, whole


def _cross_validate(x: Any, y: np.ndarray, splits: list[Any], grid: list[float], weights: list[str | None],
                    solver: str, seed: int, whole: bool = False) -> tuple[dict[tuple[float, str | None], Any], Any]:
    """Each (C, weight)'s class probabilities on every fold's test rows, the fits run side by side where the cores
    allow; with ``whole``, a fit on every row runs among them (a core would often wait for the last fold anyway),
    and its weights come back second. lbfgs walks the grid in one job per fold (warm starts); the dual solver
    fits each C in a job of its own."""
    prepared = None
    if solver != "lbfgs":
        from latentstack_linear.dual_cd import prepare

        prepared = prepare(x)
    paths = [list(grid)] if solver == "lbfgs" else [[c] for c in grid]
    jobs = [(w, path, tr, te) for w in weights for path in paths for tr, te in splits]
    if whole:
        jobs.append((weights[0], list(grid), np.arange(len(y)), np.arange(0)))
    done = _in_threads([(_fold_probas, (x, y, tr, te, path, w, solver, seed, prepared)) for w, path, tr, te in jobs])
    probas: dict[tuple[float, str | None], list[np.ndarray]] = {}
    for (w, path, _, _), (fold_probas, _) in zip(jobs[:len(jobs) - whole], done[:len(jobs) - whole], strict=True):
        for c, p in zip(path, fold_probas, strict=True):
            probas.setdefault((c, w), []).append(p)  # jobs run fold after fold for each setting: folds stay in order
    return probas, (done[-1][1] if whole else None)


def _in_threads(tasks: list[tuple[Any, tuple[Any, ...]]]) -> list[Any]:
    """Each task's result, in order, run in as many threads as there are usable cores, BLAS kept to one thread
    each (oversubscribed, lbfgs fits slowed down many times over). A plain thread pool: joblib's costs far more
    to start and stop, and one fit starts several (``benchmarks/thread_costs.py`` measures both)."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    from latentstack.cpu import usable_cores

    n_jobs = min(usable_cores(), len(tasks))
    if n_jobs < 2:
        return [f(*args) for f, args in tasks]
    with threadpool_limits(limits=1), ThreadPoolExecutor(n_jobs) as pool:
        return list(pool.map(lambda task: task[0](*task[1]), tasks))


def fold_count(y: np.ndarray) -> int:
    """Five folds, fewer when a class has fewer rows (below 2, no cross-validation)."""
    return min(5, int(np.bincount(y).min()))


def stratified_folds(y: np.ndarray, n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) rows of each fold, exactly as scikit-learn's ``StratifiedKFold(n_splits, shuffle=True,
    random_state=seed)`` splits ``y`` (a test compares them), without importing scikit-learn (seconds)."""
    rng = np.random.RandomState(seed)
    _, first, inverse = np.unique(y, return_index=True, return_inverse=True)
    encoded = np.unique(first, return_inverse=True)[1][inverse]  # classes numbered in order of first appearance
    ordered = np.sort(encoded)
    allocation = np.asarray([np.bincount(ordered[i::n_splits], minlength=len(first)) for i in range(n_splits)])
    test_folds = np.empty(len(y), dtype=np.int64)
    for k in range(len(first)):
        folds_for_class = np.arange(n_splits).repeat(allocation[:, k])
        rng.shuffle(folds_for_class)
        test_folds[encoded == k] = folds_for_class
    rows = np.arange(len(y))
    return [(rows[test_folds != i], rows[test_folds == i]) for i in range(n_splits)]


def _mean_f1(probas: list[np.ndarray], y: np.ndarray, splits: list[Any]) -> float:
    """Mean over folds of the macro-F1 of each fold's argmax."""
    return float(np.mean([macro_f1(y[test], p.argmax(axis=1)) for p, (_, test) in zip(probas, splits, strict=True)]))


def macro_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    """scikit-learn's macro-F1 (classes present in either array, F1 0 where undefined), from counts."""
    labels = np.union1d(truth, pred)
    n = int(labels.max()) + 1
    tp = np.bincount(truth[truth == pred], minlength=n)[labels].astype(float)
    support = np.bincount(truth, minlength=n)[labels] + np.bincount(pred, minlength=n)[labels]
    return float(np.mean(np.divide(2 * tp, support, out=np.zeros(len(labels)), where=support > 0)))


def search_logistic(x: Any, y: np.ndarray, *, seed: int, c: float | None, class_weight: str | None,
                    oof: bool = False) -> tuple[dict[str, Any], np.ndarray | None, Any]:
    """The setting cross-validation chooses where C or class weighting is left as None (C, class_weight,
    solver, cv_macro_f1); with ``oof`` each training row's class probabilities from the fold head that did
    not see it, at that setting; and, when C and weighting were both given, the whole split's fit (else None)."""
    solver = solver_for(x)
    grid = sorted([c] if c else (C_GRID if solver == "lbfgs" else COARSE_C_GRID))
    weights = [None if class_weight == "none" else class_weight] if class_weight else [None, "balanced"]
    best_c, weight, score, oof_proba, whole = _choose_logistic(x, y, grid, weights, solver, seed, oof)
    return {"C": best_c, "class_weight": weight or "none", "solver": solver, "cv_macro_f1": score}, oof_proba, whole
