"""Plugin ``faiss``: dense vector indexes from FAISS's index factory (CPU, or GPU when present)."""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_faiss.index import FaissIndex


@hookimpl
def register_indexes(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the ``faiss`` index."""
    register(FaissIndex)
