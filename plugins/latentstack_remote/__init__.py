"""Plugin ``remote``: a chat model another server runs, as a Generator (``openai``).

Any server that speaks OpenAI's chat completions (Ollama at ``127.0.0.1:11434/v1``, vLLM,
llama.cpp's server, LM Studio, another latentstack server, OpenAI itself) answers ``ask``,
``chat``, ``generate`` and ``serve``: latentstack retrieves, the server's model writes. The
``openai`` package is imported on first use.
"""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_remote.generator import RemoteGenerator

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"openai": "latentstack[remote]"}


@hookimpl
def register_generators(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the ``openai`` generator."""
    register(RemoteGenerator)
