"""An example latentstack plugin: an Embedder, an Index and a Generator, each through its register hook."""

from __future__ import annotations

from latentstack import hookimpl
from latentstack_hello.embedder import HashEmbedder
from latentstack_hello.generator import FirstSentenceGenerator
from latentstack_hello.index import NumpyIndex


@hookimpl
def register_embedders(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the hashing embedder under the name ``hello-hash``."""
    register(HashEmbedder)


@hookimpl
def register_indexes(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the numpy index under the name ``hello-flat``."""
    register(NumpyIndex)


@hookimpl
def register_generators(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the extractive generator under the name ``hello-extract``."""
    register(FirstSentenceGenerator)
