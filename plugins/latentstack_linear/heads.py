"""The heads: multinomial logistic regression and naive Bayes, as plain arrays.

Hyperparameters (C and class weighting, or alpha) are chosen by stratified 5-fold
cross-validation on the training split only, scored by macro-F1. A fitted head is a
few numpy arrays; prediction is done here from them, so saving needs no pickle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentstack.errors import InputError

C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
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


def fit_head(kind: str, x: Any, y: np.ndarray, *, seed: int, c: float | None, alpha: float | None,
             class_weight: str | None) -> dict[str, Any]:
    """Fit a head, choosing what was left as None by cross-validation; returns its arrays and choices."""
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        grid = {"C": [c] if c else list(C_GRID),
                "class_weight": [None if class_weight == "none" else class_weight] if class_weight else [None, "balanced"]}
        found = _search(LogisticRegression(max_iter=5000, random_state=seed), grid, x, y, seed)
        model = getattr(found, "best_estimator_", found)
        return {"coef": model.coef_.astype(np.float32), "intercept": model.intercept_.astype(np.float32),
                "chosen": {"C": model.C, "class_weight": model.class_weight or "none"}}
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


def head_proba(kind: str, coef: np.ndarray, intercept: np.ndarray, x: Any) -> np.ndarray:
    """Class probabilities from a head's arrays."""
    z = np.asarray(x @ coef.T) + intercept
    if kind == "logistic" and coef.shape[0] == 1:
        p = 1.0 / (1.0 + np.exp(-z[:, 0]))
        return np.stack([1.0 - p, p], axis=1)
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
        proba[te] = head_proba(kind, part["coef"], part["intercept"], x[te])
    return proba


def macro_f1_of(proba: np.ndarray, y: np.ndarray) -> float:
    """Macro-F1 of the argmax of class probabilities."""
    from sklearn.metrics import f1_score

    return float(f1_score(y, proba.argmax(axis=1), average="macro"))


def choose_block(oofs: list[np.ndarray], z: np.ndarray, y: np.ndarray, seed: int) -> int | None:
    """Index of the single feature block to use instead of the stack, or None to keep the stack.

    The stack's own out-of-fold score comes from cross-validating the meta-model on the
    blocks' out-of-fold log-probabilities, so it is judged on rows it did not fit, like
    each block. A block replaces the stack only when it scores strictly higher: then the
    hybrid is never worse than its better part on the training data's folds.
    """
    stacked = macro_f1_of(out_of_fold("logistic", z, y, {"C": 1.0, "class_weight": "none"}, seed), y)
    scores = [macro_f1_of(o, y) for o in oofs]
    best = int(np.argmax(scores))
    return best if scores[best] > stacked else None

