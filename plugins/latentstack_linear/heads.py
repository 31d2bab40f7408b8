"""The heads: logistic regression and naive Bayes, as plain arrays.

Hyperparameters (C and class weighting, or alpha) are chosen by stratified 5-fold
cross-validation on the training split only, scored by macro-F1. A fitted head is a
few numpy arrays; prediction is done here from them, so saving needs no pickle.

The logistic solver follows the problem's shape: liblinear's dual solver (one-vs-rest
beyond two classes, at liblinear's own tolerance) for sparse or wide features such as
TF-IDF, where it converges in a fraction of lbfgs's time; lbfgs (multinomial) for dense
embeddings, walking each fold's C grid from small to large with warm starts. C is
searched first, then the class weighting at the C that won. Folds run in threads when
there are cores for them, and their fits also give the out-of-fold probabilities that
stacking and threshold tuning need, so nothing is fitted twice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentstack.errors import InputError

C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
COARSE_C_GRID = (0.3, 3.0, 30.0)  # liblinear cannot warm-start: every other point of the grid
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
                 weight: str | None, solver: str, seed: int) -> list[np.ndarray]:
    """Class probabilities of one fold's test rows for each C of ``grid`` (ascending; lbfgs warm-starts along it)."""
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
    return probas


def _choose_logistic(x: Any, y: np.ndarray, grid: list[float], weights: list[str | None], solver: str, seed: int,
                     oof: bool) -> tuple[float, str | None, float | None, np.ndarray | None]:
    """The (C, class_weight) with the best mean fold macro-F1, that score, and its out-of-fold class probabilities.

    The search is coordinate-wise: every C with the first class weighting, then the other
    weightings at the C that won (ties keep the earlier setting). The folds run when there
    is something to compare, or when ``oof`` asks for the probabilities (stacking,
    threshold tuning): the fits that score a setting also give its out-of-fold
    probabilities, so nothing is fitted twice.
    """
    from sklearn.model_selection import StratifiedKFold

    folds = min(5, int(np.bincount(y).min()))
    if folds < 2 or (len(grid) == 1 and len(weights) == 1 and not oof):
        return grid[len(grid) // 2], weights[0], None, None
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    tried = _cross_validate(x, y, splits, grid, weights[:1], solver, seed)
    scores = {setting: _mean_f1(probas, y, splits) for setting, probas in tried.items()}
    if len(weights) > 1:
        best_c = max(scores, key=scores.__getitem__)[0]
        more = _cross_validate(x, y, splits, [best_c], weights[1:], solver, seed)
        tried.update(more)
        scores.update({setting: _mean_f1(probas, y, splits) for setting, probas in more.items()})
    (c, weight) = max(scores, key=scores.__getitem__)  # the first of equal scores
    out = np.zeros((len(y), int(y.max()) + 1))
    for probas, (_, test) in zip(tried[(c, weight)], splits, strict=True):
        out[test] = probas
    return c, weight, scores[(c, weight)], out


def _cross_validate(x: Any, y: np.ndarray, splits: list[Any], grid: list[float], weights: list[str | None],
                    solver: str, seed: int) -> dict[tuple[float, str | None], list[np.ndarray]]:
    """Each (C, weight)'s class probabilities on every fold's test rows. Folds run in threads where there are
    cores (liblinear releases the GIL), BLAS keeping one thread each."""
    from joblib import Parallel, delayed
    from threadpoolctl import threadpool_limits

    from latentstack.cpu import usable_cores

    jobs = [(w, tr, te) for w in weights for tr, te in splits]
    with threadpool_limits(limits=1):
        probas = Parallel(n_jobs=min(usable_cores(), len(jobs)), prefer="threads")(
            delayed(_fold_probas)(x, y, tr, te, grid, w, solver, seed) for w, tr, te in jobs)
    return {(c, w): [probas[i * len(splits) + f][k] for f in range(len(splits))]
            for i, w in enumerate(weights) for k, c in enumerate(grid)}


def _mean_f1(probas: list[np.ndarray], y: np.ndarray, splits: list[Any]) -> float:
    """Mean over folds of the macro-F1 of each fold's argmax."""
    from sklearn.metrics import f1_score

    return float(np.mean([f1_score(y[test], p.argmax(axis=1), average="macro")
                          for p, (_, test) in zip(probas, splits, strict=True)]))


def fit_logistic(x: Any, y: np.ndarray, *, seed: int, c: float | None, class_weight: str | None,
                 oof: bool = False) -> dict[str, Any]:
    """A logistic head with C and class weighting chosen by cross-validation where left as None.

    With ``oof``, the head also carries ``"oof"``: each training row's class probabilities
    from the fold head that did not see it, at the chosen setting.
    """
    solver = solver_for(x)
    grid = sorted([c] if c else (C_GRID if solver == "lbfgs" else COARSE_C_GRID))
    weights = [None if class_weight == "none" else class_weight] if class_weight else [None, "balanced"]
    best_c, weight, score, oof_proba = _choose_logistic(x, y, grid, weights, solver, seed, oof)
    coef, intercept, multi = _arrays(_set_c(_model(solver, weight, seed, int(y.max()) + 1), best_c).fit(x, y))
    return {"coef": coef.astype(np.float32), "intercept": intercept.astype(np.float32), "oof": oof_proba,
            "chosen": {"C": best_c, "class_weight": weight or "none", "solver": solver, "multi": multi,
                       "cv_macro_f1": score}}


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
