"""Document search: chunking, the SQLite document store, fusion, and the Collection folder."""

from latentstack.search.catalog import Catalog
from latentstack.search.chunking import Chunk, ChunkConfig, chunk_text
from latentstack.search.collection import Collection, SearchHit
from latentstack.search.repair import repair
from latentstack.search.store import Document, DocumentStore

__all__ = ["Catalog", "Chunk", "ChunkConfig", "Collection", "Document", "DocumentStore", "SearchHit", "chunk_text", "repair"]
