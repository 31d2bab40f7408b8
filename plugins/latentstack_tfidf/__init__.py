"""Plugin ``tfidf``: the older document vectors. ``tfidf`` (sparse) and ``lsa`` (its SVD latent codes)."""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_tfidf.lsa import LsaEmbedder
from latentstack_tfidf.tfidf import TfidfEmbedder


@hookimpl
def register_embedders(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register ``tfidf`` and ``lsa``."""
    register(TfidfEmbedder)
    register(LsaEmbedder)
