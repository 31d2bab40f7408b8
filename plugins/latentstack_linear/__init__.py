"""Plugin ``linear``: feature-based classifiers on a frozen Embedder (logistic regression or naive Bayes)."""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_linear.classifier import LinearClassifier

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"sklearn": "latentstack[linear]", "scipy": "latentstack[linear]", "numba": "latentstack[linear]"}



@hookimpl
def register_classifiers(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register ``linear``."""
    register(LinearClassifier)
