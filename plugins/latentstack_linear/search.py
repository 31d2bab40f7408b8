"""Cross-validation of a logistic head: which C and class weighting, scored by macro-F1 on 5 stratified folds.

The search is coordinate-wise, C first, then the class weighting at the C that won. The
fold fits that score a setting also give its out-of-fold probabilities, which stacking
and threshold tuning need, so nothing is fitted twice. Folds run side by side where
there are cores: lbfgs in threads, liblinear in worker processes and only when the work
is worth their start.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentstack_linear.model import C_GRID, COARSE_C_GRID, arrays_of, head_proba, model_for, set_c, solver_for

#: Feature entries x one-vs-rest heads from which liblinear's folds run in worker processes (their start costs seconds).
PROCESS_WORK = 20_000_000


def _fold_probas(x: Any, y: np.ndarray, train: np.ndarray, test: np.ndarray, grid: list[float],
                 weight: str | None, solver: str, seed: int) -> tuple[list[np.ndarray], Any]:
    """Class probabilities of one fold's test rows for each C of ``grid`` (ascending; lbfgs warm-starts along it);
    with no test rows (a fit on every row), the last fit's weights too."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    model = model_for(solver, weight, seed, int(y.max()) + 1)
    xtr, ytr, xte = x[train], y[train], x[test]
    probas = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a cut-short fit on a bad C only scores lower
        for c in grid:
            coef, intercept, multi = arrays_of(set_c(model, c).fit(xtr, ytr))
            probas.append(head_proba("logistic", coef, intercept, xte, multi))
    return probas, ((coef, intercept, multi) if len(test) == 0 else None)


def _choose_logistic(x: Any, y: np.ndarray, grid: list[float], weights: list[str | None], solver: str, seed: int,
                     oof: bool) -> tuple[float, str | None, float | None, np.ndarray | None, Any]:
    """The (C, class_weight) with the best mean fold macro-F1, that score, its out-of-fold class probabilities,
    and, where the setting was given, the weights of a fit on every row made alongside the folds (else None).

    The search is coordinate-wise: every C with the first class weighting, then the other
    weightings at the C that won (ties keep the earlier setting). The folds run when there
    is something to compare, or when ``oof`` asks for the probabilities (stacking,
    threshold tuning): the fits that score a setting also give its out-of-fold
    probabilities, so nothing is fitted twice.
    """
    from sklearn.model_selection import StratifiedKFold

    folds = min(5, int(np.bincount(y).min()))
    given = len(grid) == 1 and len(weights) == 1
    if folds < 2 or (given and not oof):
        return grid[len(grid) // 2], weights[0], None, None, None
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    tried, whole = _cross_validate(x, y, splits, grid, weights[:1], solver, seed, whole=given)
    scores = {setting: _mean_f1(probas, y, splits) for setting, probas in tried.items()}
    if len(weights) > 1:
        best_c = max(scores, key=scores.__getitem__)[0]
        more, _ = _cross_validate(x, y, splits, [best_c], weights[1:], solver, seed)
        tried.update(more)
        scores.update({setting: _mean_f1(probas, y, splits) for setting, probas in more.items()})
    (c, weight) = max(scores, key=scores.__getitem__)  # the first of equal scores
    out = np.zeros((len(y), int(y.max()) + 1))
    for probas, (_, test) in zip(tried[(c, weight)], splits, strict=True):
        out[test] = probas
    return c, weight, scores[(c, weight)], out, whole


def _cross_validate(x: Any, y: np.ndarray, splits: list[Any], grid: list[float], weights: list[str | None],
                    solver: str, seed: int, whole: bool = False) -> tuple[dict[tuple[float, str | None], Any], Any]:
    """Each (C, weight)'s class probabilities on every fold's test rows, the folds run side by side where the
    cores allow (``_fold_runner``); with ``whole``, a fit on every row runs among them (a core would often wait
    for the last fold anyway), and its weights come back second."""
    jobs = [(w, tr, te) for w in weights for tr, te in splits]
    if whole:
        jobs.append((weights[0], np.arange(len(y)), np.arange(0)))
    done = _fold_runner(x, y, solver, len(jobs))(
        (_fold_probas, (x, y, tr, te, grid, w, solver, seed), {}) for w, tr, te in jobs)
    probas = {(c, w): [done[i * len(splits) + f][0][k] for f in range(len(splits))]
              for i, w in enumerate(weights) for k, c in enumerate(grid)}
    return probas, (done[-1][1] if whole else None)


def _fold_runner(x: Any, y: np.ndarray, solver: str, n_jobs: int) -> Any:
    """How fold fits run: lbfgs in threads (BLAS kept to one thread each); liblinear in worker processes when
    the work outweighs starting them, else one after another. liblinear's shuffling draws from one random
    generator per process, so fits running in threads would disturb each other's draws, and results would
    change from run to run."""
    from joblib import Parallel

    from latentstack.cpu import usable_cores

    n_jobs = min(usable_cores(), n_jobs)
    if solver == "lbfgs" and n_jobs > 1:
        from threadpoolctl import threadpool_limits

        def threads(tasks: Any) -> list[Any]:
            with threadpool_limits(limits=1):
                return list(Parallel(n_jobs=n_jobs, prefer="threads")(tasks))
        return threads
    n_classes = int(y.max()) + 1
    work = (x.nnz if hasattr(x, "nnz") else x.size) * (n_classes if n_classes > 2 else 1)  # one-vs-rest heads
    return Parallel(n_jobs=n_jobs if work >= PROCESS_WORK else 1)


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
