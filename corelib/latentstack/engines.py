"""Engines: where a collection's documents are chunked, embedded and indexed. ``local`` (no engine) is this process.

An Engine plugin spreads the work of one ``add_documents`` call over workers (the ``ray``
plugin over a Ray cluster). It receives the embedder by registered name and config,
never as a model object, so each worker builds its own from the same plugin and
options; chunks and vectors come back in the order of the texts. An index that can be
built in parts (``Index.can_build_in_parts``) may be filled by the workers and merged;
the document store, the lexical index and the folder format stay the collection's.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from latentstack.interfaces.base import Component

if TYPE_CHECKING:
    from latentstack.interfaces.index import Index
    from latentstack.search.chunking import Chunk, ChunkConfig


class Engine(Component):
    """Embeds texts with a registered embedder, somewhere other than this process."""

    role: ClassVar[str] = "engine"

    @abstractmethod
    def embed(self, texts: Sequence[str], embedder: str, options: Mapping[str, Any]) -> Any:
        """float32 vectors (len(texts), dim) of ``texts`` by the embedder ``embedder`` built with ``options``.

        Any prompt is in the texts already: embed them as given (``embed_many(texts, None)``).
        """

    def chunk(self, texts: Sequence[str], config: ChunkConfig) -> list[list[Chunk]]:
        """Each text's chunks, in order; the default cuts them here."""
        from latentstack.search.chunking import chunk_text

        return [chunk_text(t, config) for t in texts]

    def build(self, index: Index, ids: Sequence[str | int], vectors: Any,
              metadata: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Add the vectors to ``index`` under ``ids``; the default adds them here."""
        index.add(ids, vectors, metadata)

    def summary(self) -> dict[str, Any]:
        """What the last ``embed`` did (workers, seconds, throughput); {} by default."""
        return {}
