"""Plugin ``faiss``: dense vector indexes from FAISS's index factory (CPU, or GPU when present)."""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_faiss.index import FaissIndex

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"faiss": "latentstack[faiss]"}



@hookimpl
def register_indexes(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the ``faiss`` index."""
    register(FaissIndex)


@hookimpl
def register_bench_suites(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Add the ``ann`` benchmark suite (FAISS index kinds at scale)."""
    from latentstack_faiss.bench_ann import ann

    register(ann)
