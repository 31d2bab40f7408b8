"""Engines: where a collection's passages are embedded. ``local`` (no engine) embeds in this process.

An Engine plugin spreads the embedding of one ``add_documents`` call over workers (the
``ray`` plugin over a Ray cluster's actor pool). It receives the embedder by registered
name and config, never as a model object, so each worker builds its own from the same
plugin and options; the vectors come back in the order of the texts. Everything else
(chunking, the document store, the indexes, the folder format) stays the collection's.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from latentstack.interfaces.base import Component


class Engine(Component):
    """Embeds texts with a registered embedder, somewhere other than this process."""

    role: ClassVar[str] = "engine"

    @abstractmethod
    def embed(self, texts: Sequence[str], embedder: str, options: Mapping[str, Any]) -> Any:
        """float32 vectors (len(texts), dim) of ``texts`` by the embedder ``embedder`` built with ``options``."""

    def summary(self) -> dict[str, Any]:
        """What the last ``embed`` did (workers, seconds, throughput); {} by default."""
        return {}
