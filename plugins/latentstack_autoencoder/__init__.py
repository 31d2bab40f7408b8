"""Plugin ``autoencoder``: non-linear latent codes (an MLP autoencoder) learnt without labels, and the digits suite."""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_autoencoder.embedder import AutoencoderEmbedder

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"torch": "latentstack[autoencoder]", "safetensors": "latentstack[autoencoder]"}


@hookimpl
def register_embedders(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register ``autoencoder``."""
    register(AutoencoderEmbedder)


@hookimpl
def register_bench_suites(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Add the ``latent`` suite (PCA against the autoencoder on scikit-learn's 8x8 digits)."""
    from latentstack_autoencoder.bench_digits import latent

    register(latent)
