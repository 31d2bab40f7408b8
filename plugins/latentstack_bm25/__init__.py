"""Plugin ``bm25``: a sparse Index over text (bm25s), the lexical baseline and hybrid partner."""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_bm25.index import Bm25Index

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"bm25s": "latentstack[bm25]", "Stemmer": "latentstack[bm25]"}



@hookimpl
def register_indexes(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the ``bm25`` index."""
    register(Bm25Index)
