"""One logistic head as scikit-learn fits it, and any head as plain arrays with its probabilities.

The solver follows the problem's shape: liblinear's dual solver (one-vs-rest beyond two
classes, at liblinear's own tolerance) for sparse or wide features such as TF-IDF, where
it converges in a fraction of lbfgs's time; lbfgs (multinomial) for dense embeddings,
warm-started along a C grid. A fitted head is a few numpy arrays; prediction is done
here from them, so saving needs no pickle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
COARSE_C_GRID = (0.3, 3.0, 30.0)  # liblinear cannot warm-start: every other point of the grid
LIBLINEAR_TOL = 0.1  # liblinear's own default for its dual solvers (scikit-learn passes 1e-4)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def solver_for(x: Any) -> str:
    """liblinear for sparse or wide features, lbfgs for dense ones."""
    return "liblinear" if hasattr(x, "indptr") or x.shape[1] > x.shape[0] else "lbfgs"


def model_for(solver: str, weight: str | None, seed: int, n_classes: int) -> Any:
    """lbfgs (multinomial, warm-started along the grid), or liblinear's dual solver, one-vs-rest beyond two classes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    if solver == "lbfgs":
        return LogisticRegression(class_weight=weight, max_iter=5000, random_state=seed, warm_start=True)
    base = LogisticRegression(solver="liblinear", dual=True, class_weight=weight, max_iter=2000, random_state=seed,
                              tol=LIBLINEAR_TOL)
    return base if n_classes == 2 else OneVsRestClassifier(base)


def set_c(model: Any, c: float) -> Any:
    """The model with C set (on the estimator inside a one-vs-rest model)."""
    return model.set_params(**({"estimator__C": c} if hasattr(model, "estimator") else {"C": c}))


def arrays_of(model: Any) -> tuple[np.ndarray, np.ndarray, str]:
    """A fitted model's weights, intercepts and how its classes' scores combine (one-vs-rest or multinomial)."""
    parts = model.estimators_ if hasattr(model, "estimators_") else [model]
    coef = np.vstack([p.coef_ for p in parts])
    intercept = np.concatenate([np.ravel(p.intercept_) for p in parts])
    return coef, intercept, "ovr" if len(parts) > 1 else "multinomial"


def logistic_head(x: Any, y: np.ndarray, chosen: dict[str, Any], seed: int, fitted: Any = None) -> dict[str, Any]:
    """The head at a chosen setting: the weights of ``fitted`` (``search_logistic``'s whole-split fit), or a fit."""
    if fitted is None:
        weight = None if chosen["class_weight"] == "none" else chosen["class_weight"]
        fitted = arrays_of(set_c(model_for(chosen["solver"], weight, seed, int(y.max()) + 1), chosen["C"]).fit(x, y))
    coef, intercept, multi = fitted
    return {"coef": coef.astype(np.float32), "intercept": intercept.astype(np.float32), "chosen": {**chosen, "multi": multi}}


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
