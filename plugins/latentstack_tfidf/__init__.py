"""Plugin ``tfidf``: the older document vectors. ``tfidf`` (sparse) and ``lsa`` (its SVD latent codes)."""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_tfidf.lsa import LsaEmbedder
from latentstack_tfidf.tfidf import TfidfEmbedder

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"sklearn": "latentstack[tfidf]", "scipy": "latentstack[tfidf]"}



@hookimpl
def register_embedders(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register ``tfidf`` and ``lsa``."""
    register(TfidfEmbedder)
    register(LsaEmbedder)
