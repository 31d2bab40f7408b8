"""A searchable collection: chunker -> Embedder -> Index, BM25 beside it, SQLite for text.

On disk it is one folder, replaced whole on every save (temp folder, then rename)::

    manifest.json   format, embedder (name, config, fingerprint, dim), index, chunking
    store.sqlite    documents, chunks, metadata
    dense/          the vector index (FAISS files)
    bm25/           the lexical index
    embedder/       fitted state of a corpus-trained embedder (lsa), if any
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from latentstack.atomic import atomic_dir, recover_dir
from latentstack.errors import CorruptFileError, InputError, ModelMismatchError
from latentstack.interfaces import Embedder, Index
from latentstack.metadata import check_keys
from latentstack.progress import log, progress
from latentstack.search.chunking import ChunkConfig, chunk_text
from latentstack.search.fusion import fuse
from latentstack.search.store import Document, DocumentStore, StoredChunk

FORMAT = 1


@attrs.frozen
class SearchHit:
    """A search result: the passage, its document, and the score it ranked by."""

    chunk_id: int
    doc_id: str
    title: str
    text: str
    score: float
    start: int
    end: int
    metadata: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON form for --json output."""
        return attrs.asdict(self)


def _hit(chunk: StoredChunk, score: float) -> SearchHit:
    return SearchHit(chunk.id, chunk.doc_id, chunk.title, chunk.text, score, chunk.start, chunk.end, chunk.metadata)


class Collection:
    """Documents made searchable. Build with ``create``, reopen with ``load``."""

    def __init__(self, path: Path, manifest: dict[str, Any], embedder: Embedder, store: DocumentStore,
                 dense: Index | None, lexical: Index) -> None:
        self.path, self.manifest, self.embedder = path, manifest, embedder
        self.store, self.dense, self.lexical = store, dense, lexical

    # -- creation and loading ---------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, *, embedder: str = "bert", embedder_options: Mapping[str, Any] | None = None,
               index: str = "auto", metric: str = "ip", chunking: ChunkConfig | None = None) -> Collection:
        """A new, empty collection (written on the first ``save``)."""
        from latentstack import get_embedder

        emb = get_embedder(embedder, **dict(embedder_options or {}))
        manifest = {
            "format": FORMAT,
            "embedder": {"name": embedder, "config": emb.config.to_dict()},
            "index": {"name": "faiss", "factory": index, "metric": metric},
            "chunking": attrs.asdict(chunking or ChunkConfig()),
        }
        from latentstack import get_index

        return cls(Path(path), manifest, emb, DocumentStore(), None, get_index("bm25"))

    @classmethod
    def load(cls, path: str | Path, *, expect_embedder: Mapping[str, Any] | None = None) -> Collection:
        """Open a saved collection; a changed model or a different requested embedder is an error."""
        from latentstack import get_embedder
        from latentstack.registry import get_registry

        folder = recover_dir(path)
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
        except (OSError, ValueError) as exc:
            msg = f"{folder} is not a readable latentstack index ({exc}); build one with `latentstack index build`"
            raise CorruptFileError(msg) from exc
        if manifest.get("format") != FORMAT:
            msg = f"{folder} has index format {manifest.get('format')}; this version reads {FORMAT}"
            raise CorruptFileError(msg)
        spec = manifest["embedder"]
        if expect_embedder:
            cls._check_expected(spec, expect_embedder)
        reg = get_registry()
        emb_cls = reg.get_class("embedder", spec["name"])
        emb = emb_cls.load(folder / "embedder") if emb_cls.trainable else get_embedder(spec["name"], **spec["config"])
        if emb.fingerprint() != spec["fingerprint"]:
            msg = (f"the index at {folder} was built with embedder fingerprint {spec['fingerprint']}, but "
                   f"{spec['name']} with the same options now gives {emb.fingerprint()} (the model files changed); "
                   "rebuild the index")
            raise ModelMismatchError(msg)
        store = DocumentStore.open(folder / "store.sqlite")
        dense = reg.get_class("index", manifest["index"]["name"]).load(folder / "dense")
        lexical = reg.get_class("index", "bm25").load(folder / "bm25")
        return cls(folder, manifest, emb, store, dense, lexical)

    @staticmethod
    def _check_expected(spec: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
        name = expected.get("name", spec["name"])
        diffs = [f"embedder {name!r} != {spec['name']!r}"] if name != spec["name"] else []
        diffs += [f"{k}={v!r} != {spec['config'].get(k)!r}" for k, v in expected.get("config", {}).items()
                  if spec["config"].get(k) != v]
        if diffs:
            msg = (f"this index was built with embedder {spec['name']} {spec['config']}; the query asks for "
                   f"{'; '.join(diffs)}. Query with the index's own embedder, or rebuild the index")
            raise ModelMismatchError(msg)

    # -- documents --------------------------------------------------------------------
    def add_documents(self, docs: Iterable[Document]) -> dict[str, int]:
        """Chunk, embed and index documents; an existing id is replaced. Returns counts."""
        chunking = ChunkConfig(**self.manifest["chunking"])
        docs = list(docs)
        empty = [d.id for d in docs if not d.text.strip()]
        docs = [d for d in docs if d.text.strip()]
        replaced = self.remove_documents([d.id for d in docs if self.store.has_document(d.id)])
        ids: list[int] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        for doc in progress(docs, desc="chunking", unit="doc", enabled=len(docs) > 200):
            chunks = chunk_text(doc.text, chunking)
            new = self.store.add_document(doc, [(c.position, c.start, c.end, c.text) for c in chunks])
            ids += new
            texts += [c.text for c in chunks]
            metas += [dict(doc.metadata)] * len(chunks)
        if texts:
            self._index(ids, texts, metas)
        if empty:
            log(f"skipped {len(empty)} empty document(s): {', '.join(empty[:5])}{' ...' if len(empty) > 5 else ''}")
        return {"documents": len(docs), "chunks": len(texts), "replaced": replaced, "skipped_empty": len(empty)}

    def _index(self, ids: list[int], texts: list[str], metas: list[dict[str, Any]]) -> None:
        if self.embedder.trainable and self.embedder.dim == 0:
            self.embedder.fit(texts)
        vectors = self.embedder.embed_many(texts)
        if self.dense is None:
            from latentstack import get_index

            spec = self.manifest["index"]
            self.dense = get_index(spec["name"], factory=spec["factory"], metric=spec["metric"])
        self.dense.add(ids, vectors, metas)
        self.manifest["index"]["factory"] = self.dense.config.factory
        self.lexical.add(ids, texts, metas)

    def remove_documents(self, doc_ids: Sequence[str]) -> int:
        """Remove documents; they vanish from results at once. Returns how many existed."""
        chunk_ids = self.store.chunk_ids(doc_ids)
        if self.dense is not None:
            self.dense.remove(chunk_ids)
        self.lexical.remove(chunk_ids)
        return self.store.remove_documents(doc_ids)

    # -- search -----------------------------------------------------------------------
    def search(self, query: str, k: int = 10, *, hybrid: bool = False, where: Mapping[str, Any] | None = None,
               fusion: str = "zscore", by_document: bool = False) -> list[SearchHit]:
        """The k best passages (or documents, by their best passage) for a query."""
        return self.search_many([query], k, hybrid=hybrid, where=where, fusion=fusion, by_document=by_document)[0]

    def search_many(self, queries: Sequence[str], k: int = 10, *, hybrid: bool = False,
                    where: Mapping[str, Any] | None = None, fusion: str = "zscore",
                    by_document: bool = False, vectors: Any = None) -> list[list[SearchHit]]:
        """``search`` for many queries, embedding them in one batch (or using ``vectors``, already embedded)."""
        for q in queries:
            if not isinstance(q, str) or not q.strip():
                msg = "the query is empty: give some words to search for"
                raise InputError(msg)
        if self.dense is None or len(self.dense) == 0:
            return [[] for _ in queries]
        if where:
            check_keys([dict.fromkeys(self.store.metadata_keys())], where)
        depth = max(k * (4 if by_document else 1), 100 if hybrid else k)
        if vectors is None:
            vectors = self.embedder.embed_many(list(queries))
        dense = self.dense.search_batch(vectors, depth, where)
        if hybrid:
            lexical = self.lexical.search_batch(list(queries), depth, where)
            ranked = [fuse(d, lx, fusion) for d, lx in zip(dense, lexical, strict=True)]
        else:
            ranked = dense
        return [self._resolve(hits, k, by_document) for hits in ranked]

    def _resolve(self, hits: Sequence[Any], k: int, by_document: bool) -> list[SearchHit]:
        """Keep the k best live hits (one per document if asked), then read only those from the store."""
        doc_of = self.store.doc_ids([int(h.id) for h in hits])
        kept, seen = [], set()
        for h in hits:
            doc = doc_of.get(int(h.id))
            if doc is None or (by_document and doc in seen):
                continue
            seen.add(doc)
            kept.append(h)
            if len(kept) == k:
                break
        chunks = self.store.chunks([int(h.id) for h in kept])
        return [_hit(chunks[int(h.id)], h.score) for h in kept]

    # -- persistence ------------------------------------------------------------------
    def save(self) -> None:
        """Write the whole folder atomically: a crash leaves the previous version loadable."""
        if self.dense is None:
            msg = "nothing to save: the collection has no documents yet"
            raise InputError(msg)
        self.manifest["embedder"]["fingerprint"] = self.embedder.fingerprint()
        self.manifest["embedder"]["dim"] = self.embedder.dim
        self.manifest["counts"] = {"documents": self.store.count_documents(), "chunks": self.store.count_chunks()}
        with atomic_dir(self.path) as tmp:
            self.store.save_to(tmp / "store.sqlite")
            self.dense.save(tmp / "dense")
            self.lexical.save(tmp / "bm25")
            if self.embedder.trainable:
                self.embedder.save(tmp / "embedder")
            (tmp / "manifest.json").write_text(json.dumps(self.manifest, indent=2))

    def info(self) -> dict[str, Any]:
        """What ``latentstack index info`` shows."""
        return {**self.manifest, "path": str(self.path), "metadata_keys": sorted(self.store.metadata_keys()),
                "live": {"documents": self.store.count_documents(), "chunks": self.store.count_chunks()}}
