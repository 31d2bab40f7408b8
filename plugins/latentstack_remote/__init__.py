"""Plugin ``remote``: models another server runs, as a Generator and an Embedder (both ``openai``).

Any server that speaks OpenAI's API (Ollama at ``127.0.0.1:11434/v1``, vLLM, llama.cpp's
server, LM Studio, another latentstack server, OpenAI itself) answers ``ask``, ``chat``,
``generate`` and ``serve`` with its chat model, and embeds an index's or a classifier's texts
with its embedding model. The ``openai`` package is imported on first use.
"""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_remote.embedder import RemoteEmbedder
from latentstack_remote.generator import RemoteGenerator

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"openai": "latentstack[remote]"}


@hookimpl
def register_generators(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the ``openai`` generator."""
    register(RemoteGenerator)


@hookimpl
def register_embedders(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the ``openai`` embedder."""
    register(RemoteEmbedder)
