"""The heads: logistic regression and naive Bayes, as plain arrays.

Hyperparameters (C and class weighting, or alpha) are chosen by stratified 5-fold
cross-validation on the training split only, scored by macro-F1. A fitted head is a
few numpy arrays; prediction is done here from them, so saving needs no pickle.

The logistic solver follows the problem's shape: liblinear (one-vs-rest beyond two
classes) for sparse or wide features such as TF-IDF, where it converges in a fraction of
lbfgs's time; lbfgs (multinomial) for dense embeddings, walking each fold's C grid from
small to large with warm starts, so each fit starts from the last one's weights. Folds
run in threads when there are cores for them (liblinear releases the GIL).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentstack.errors import InputError

C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
COARSE_C_GRID = (0.3, 3.0, 30.0)  # liblinear cannot warm-start: every other point of the grid
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
    base = LogisticRegression(solver="liblinear", dual=True, class_weight=weight, max_iter=2000, random_state=seed)
    return base if n_classes == 2 else OneVsRestClassifier(base)


def _set_c(model: Any, c: float) -> Any:
    return model.set_params(**({"estimator__C": c} if hasattr(model, "estimator") else {"C": c}))


def _fold_scores(x: Any, y: np.ndarray, train: np.ndarray, test: np.ndarray, grid: list[float],
                 weight: str | None, solver: str, seed: int) -> list[float]:
    """Macro-F1 on one fold's test rows for each C of ``grid`` (ascending; lbfgs warm-starts along it)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import f1_score

    model = _model(solver, weight, seed, int(y.max()) + 1)
    xtr, ytr, xte = x[train], y[train], x[test]
    scores = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a cut-short fit on a bad C only scores lower
        for c in grid:
            _set_c(model, c).fit(xtr, ytr)
            scores.append(float(f1_score(y[test], model.predict(xte), average="macro")))
    return scores


def _choose_logistic(x: Any, y: np.ndarray, grid: list[float], weights: list[str | None], solver: str,
                     seed: int) -> tuple[float, str | None, float | None]:
    """The (C, class_weight) with the best mean fold macro-F1, and that score (None when nothing was compared)."""
    from joblib import Parallel, delayed
    from sklearn.model_selection import StratifiedKFold

    from latentstack.cpu import usable_cores

    folds = min(5, int(np.bincount(y).min()))
    if folds < 2 or (len(grid) == 1 and len(weights) == 1):
        return grid[len(grid) // 2], weights[0], None
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    jobs = [(w, tr, te) for w in weights for tr, te in splits]
    scores = Parallel(n_jobs=min(usable_cores(), len(jobs)), prefer="threads")(
        delayed(_fold_scores)(x, y, tr, te, grid, w, solver, seed) for w, tr, te in jobs)
    best, best_score = (grid[0], weights[0]), -1.0
    for i, w in enumerate(weights):
        mean = np.mean([scores[i * len(splits) + f] for f in range(len(splits))], axis=0)
        j = int(np.argmax(mean))
        if mean[j] > best_score:
            best, best_score = (grid[j], w), float(mean[j])
    return best[0], best[1], best_score


def fit_logistic(x: Any, y: np.ndarray, *, seed: int, c: float | None, class_weight: str | None) -> dict[str, Any]:
    """A logistic head with C and class weighting chosen by cross-validation where left as None."""
    solver = solver_for(x)
    grid = sorted([c] if c else (C_GRID if solver == "lbfgs" else COARSE_C_GRID))
    weights = [None if class_weight == "none" else class_weight] if class_weight else [None, "balanced"]
    best_c, weight, score = _choose_logistic(x, y, grid, weights, solver, seed)
    n_classes = int(y.max()) + 1
    model = _set_c(_model(solver, weight, seed, n_classes), best_c).fit(x, y)
    parts = model.estimators_ if hasattr(model, "estimators_") else [model]
    coef = np.vstack([p.coef_ for p in parts])
    intercept = np.concatenate([np.ravel(p.intercept_) for p in parts])
    multi = "ovr" if len(parts) > 1 else "multinomial"
    return {"coef": coef.astype(np.float32), "intercept": intercept.astype(np.float32),
            "chosen": {"C": best_c, "class_weight": weight or "none", "solver": solver, "multi": multi,
                       "cv_macro_f1": score}}


def fit_head(kind: str, x: Any, y: np.ndarray, *, seed: int, c: float | None, alpha: float | None,
             class_weight: str | None) -> dict[str, Any]:
    """Fit a head, choosing what was left as None by cross-validation; returns its arrays and choices."""
    if kind == "logistic":
        return fit_logistic(x, y, seed=seed, c=c, class_weight=class_weight)
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


def log_proba(p: np.ndarray) -> np.ndarray:
    """Clipped log-probabilities, the stacking features."""
    return np.log(np.clip(p, 1e-6, 1.0))


def out_of_fold(kind: str, x: Any, y: np.ndarray, chosen: dict[str, Any], seed: int) -> np.ndarray:
    """Class probabilities for each training row from a head fitted on the other folds."""
    from sklearn.model_selection import StratifiedKFold

    proba = np.zeros((len(y), int(y.max()) + 1))
    folds = StratifiedKFold(min(5, int(np.bincount(y).min())), shuffle=True, random_state=seed)
    for tr, te in folds.split(np.zeros(len(y)), y):
        part = fit_head(kind, x[tr], y[tr], seed=seed, c=chosen.get("C"), alpha=chosen.get("alpha"),
                        class_weight=chosen.get("class_weight"))
        proba[te] = head_proba(kind, part["coef"], part["intercept"], x[te], part["chosen"].get("multi", ""))
    return proba


def macro_f1_of(proba: np.ndarray, y: np.ndarray) -> float:
    """Macro-F1 of the argmax of class probabilities."""
    from sklearn.metrics import f1_score

    return float(f1_score(y, proba.argmax(axis=1), average="macro"))


def fusion_scores(oofs: list[np.ndarray], z: np.ndarray, y: np.ndarray, seed: int) -> dict[str, float]:
    """Out-of-fold macro-F1 of the stack and of each block alone ("stack", "block0", "block1", ...).

    The stack's own out-of-fold score comes from cross-validating the meta-model on the
    blocks' out-of-fold log-probabilities, so it is judged on rows it did not fit, like
    each block.
    """
    stacked = macro_f1_of(out_of_fold("logistic", z, y, {"C": 1.0, "class_weight": "none"}, seed), y)
    return {"stack": stacked, **{f"block{i}": macro_f1_of(o, y) for i, o in enumerate(oofs)}}


def side_by_side(blocks: list[Any]) -> Any:
    """The feature blocks as one sparse matrix, each block's rows scaled to unit length first."""
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    return sp.hstack([normalize(sp.csr_matrix(b), norm="l2") for b in blocks], format="csr", dtype=np.float32)


def best_fusion(scores: dict[str, float]) -> str:
    """The fusion with the best cross-validated score; earlier entries win ties (the stack first).

    A single block or the side-by-side head replaces the stack only when it scores
    strictly higher, so the hybrid is never worse than its better part on the folds.
    """
    return max(scores, key=lambda k: (scores[k], -list(scores).index(k)))

