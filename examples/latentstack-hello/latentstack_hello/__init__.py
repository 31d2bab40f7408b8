"""An example latentstack plugin: registers one Embedder through the register_embedders hook."""

from __future__ import annotations

from latentstack import hookimpl
from latentstack_hello.embedder import HashEmbedder


@hookimpl
def register_embedders(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the hashing embedder under the name ``hello-hash``."""
    register(HashEmbedder)
