"""The heads: logistic regression and naive Bayes, as plain arrays.

Hyperparameters (C and class weighting, or alpha) are chosen by stratified 5-fold
cross-validation on the training split only, scored by macro-F1. A fitted head is a
few numpy arrays; prediction is done here from them, so saving needs no pickle.

The logistic solver follows the problem's shape: liblinear's dual solver (one-vs-rest
beyond two classes, at liblinear's own tolerance) for sparse or wide features such as
TF-IDF, where it converges in a fraction of lbfgs's time; lbfgs (multinomial) for dense
embeddings, walking each fold's C grid from small to large with warm starts. C is
searched first, then the class weighting at the C that won. Folds run side by side where
there are cores (lbfgs in threads; liblinear in processes, and only when the work is
worth their start), and their fits also give the out-of-fold probabilities that
stacking and threshold tuning need, so nothing is fitted twice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentstack.errors import InputError

C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
COARSE_C_GRID = (0.3, 3.0, 30.0)  # liblinear cannot warm-start: every other point of the grid
#: Feature entries x one-vs-rest heads from which liblinear's folds run in worker processes (their start costs seconds).
PROCESS_WORK = 20_000_000
LIBLINEAR_TOL = 0.1  # liblinear's own default for its dual solvers (scikit-learn passes 1e-4)
ALPHA_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _search(estimator: Any, grid: dict[str, Any], x: Any, y: np.ndarray, seed: int) -> Any:
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    folds = min(5, int(np.bincount(y).min()))
    if folds < 2:
        return estimator.set_params(**{k: v[len(v) // 2] for k, v in grid.items()}).fit(x, y)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return GridSearchCV(estimator, grid, cv=cv, scoring="f1_macro", n_jobs=1, refit=True).fit(x, y)


def solver_for(x: Any) -> str:
    """liblinear for sparse or wide features, lbfgs for dense ones."""
    return "liblinear" if hasattr(x, "indptr") or x.shape[1] > x.shape[0] else "lbfgs"


def _model(solver: str, weight: str | None, seed: int, n_classes: int) -> Any:
    """lbfgs (multinomial, warm-started along the grid), or liblinear's dual solver, one-vs-rest beyond two classes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    if solver == "lbfgs":
        return LogisticRegression(class_weight=weight, max_iter=5000, random_state=seed, warm_start=True)
    base = LogisticRegression(solver="liblinear", dual=True, class_weight=weight, max_iter=2000, random_state=seed,
                              tol=LIBLINEAR_TOL)
    return base if n_classes == 2 else OneVsRestClassifier(base)


def _set_c(model: Any, c: float) -> Any:
    return model.set_params(**({"estimator__C": c} if hasattr(model, "estimator") else {"C": c}))


def _arrays(model: Any) -> tuple[np.ndarray, np.ndarray, str]:
    """A fitted model's weights, intercepts and how its classes' scores combine (one-vs-rest or multinomial)."""
    parts = model.estimators_ if hasattr(model, "estimators_") else [model]
    coef = np.vstack([p.coef_ for p in parts])
    intercept = np.concatenate([np.ravel(p.intercept_) for p in parts])
    return coef, intercept, "ovr" if len(parts) > 1 else "multinomial"


def _fold_probas(x: Any, y: np.ndarray, train: np.ndarray, test: np.ndarray, grid: list[float],
                 weight: str | None, solver: str, seed: int) -> tuple[list[np.ndarray], Any]:
    """Class probabilities of one fold's test rows for each C of ``grid`` (ascending; lbfgs warm-starts along it);
    with no test rows (a fit on every row), the last fit's weights too."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    model = _model(solver, weight, seed, int(y.max()) + 1)
    xtr, ytr, xte = x[train], y[train], x[test]
    probas = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a cut-short fit on a bad C only scores lower
        for c in grid:
            coef, intercept, multi = _arrays(_set_c(model, c).fit(xtr, ytr))
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
    work = (x.nnz if hasattr(x, "nnz") else x.size) * max(int(y.max()), 1)
    return Parallel(n_jobs=n_jobs if work >= PROCESS_WORK else 1)


def _mean_f1(probas: list[np.ndarray], y: np.ndarray, splits: list[Any]) -> float:
    """Mean over folds of the macro-F1 of each fold's argmax."""
    return float(np.mean([macro_f1(y[test], p.argmax(axis=1)) for p, (_, test) in zip(probas, splits, strict=True)]))


def macro_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    """scikit-learn's macro-F1 (classes present in either array, F1 0 where undefined), from counts."""
    labels = np.union1d(truth, pred)
    tp = np.bincount(truth[truth == pred], minlength=labels.max() + 1)[labels].astype(float)
    support = np.bincount(truth, minlength=labels.max() + 1)[labels] + np.bincount(pred, minlength=labels.max() + 1)[labels]
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


def logistic_head(x: Any, y: np.ndarray, chosen: dict[str, Any], seed: int, fitted: Any = None) -> dict[str, Any]:
    """The head at a chosen setting: the weights of ``fitted`` (``search_logistic``'s whole-split fit), or a fit."""
    if fitted is None:
        weight = None if chosen["class_weight"] == "none" else chosen["class_weight"]
        fitted = _arrays(_set_c(_model(chosen["solver"], weight, seed, int(y.max()) + 1), chosen["C"]).fit(x, y))
    coef, intercept, multi = fitted
    return {"coef": coef.astype(np.float32), "intercept": intercept.astype(np.float32), "chosen": {**chosen, "multi": multi}}


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
        from sklearn.naive_bayes import MultinomialNB

        if (x.data if hasattr(x, "data") and hasattr(x, "indptr") else np.asarray(x)).min() < 0:
            msg = "the nb head needs non-negative features: use it with --embedder tfidf"
            raise InputError(msg)
        found = _search(MultinomialNB(), {"alpha": [alpha] if alpha else list(ALPHA_GRID)}, x, y, seed)
        model = getattr(found, "best_estimator_", found)
        return {"coef": model.feature_log_prob_.astype(np.float32),
                "intercept": model.class_log_prior_.astype(np.float32), "chosen": {"alpha": model.alpha}}
    msg = f"unknown head {kind!r}; use logistic or nb"
    raise InputError(msg)


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
    """Class probabilities for each training row from a head fitted on the other folds, at the ``chosen`` setting."""
    from sklearn.model_selection import StratifiedKFold

    if kind == "logistic":
        head = fit_logistic(x, y, seed=seed, c=chosen["C"], class_weight=chosen["class_weight"], oof=True)
        return np.asarray(head["oof"])
    proba = np.zeros((len(y), int(y.max()) + 1))
    folds = StratifiedKFold(min(5, int(np.bincount(y).min())), shuffle=True, random_state=seed)
    for tr, te in folds.split(np.zeros(len(y)), y):
        part = fit_head(kind, x[tr], y[tr], seed=seed, c=chosen.get("C"), alpha=chosen.get("alpha"),
                        class_weight=chosen.get("class_weight"))
        proba[te] = head_proba(kind, part["coef"], part["intercept"], x[te], part["chosen"].get("multi", ""))
    return proba
