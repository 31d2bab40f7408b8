"""A searchable collection: chunker -> Embedder -> Index, a lexical Index beside it, SQLite for text.

On disk it is one folder, replaced whole on every save (temp folder, then rename)::

    manifest.json   embedder (name, config, fingerprint, dim), index and lexical index
                    (name, options), chunking, counts; checksums of the files below
    store.sqlite    documents, chunks, metadata
    dense/          the vector index (any Index plugin's own component folder)
    lexical/        the lexical index for hybrid search (a text Index, bm25 by default), if any
    embedder/       fitted state of a corpus-trained embedder (lsa), if any
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from latentstack.engines import Engine
from latentstack.errors import ConfigError, CorruptFileError, InputError, ModelMismatchError, UnknownNameError
from latentstack.interfaces import Embedder, Index
from latentstack.interfaces.index import id_list
from latentstack.locks import real_path
from latentstack.metadata import check_known, check_where
from latentstack.progress import detail, log, progress
from latentstack.search.catalog import FORMAT, PLUGIN, Catalog
from latentstack.search.chunking import Chunk, ChunkConfig, chunk_text
from latentstack.search.fusion import check_fusion, fuse
from latentstack.search.store import Document, DocumentStore, StoredChunk, as_doc_id
from latentstack.storage import component_dir, part, read_manifest, reading, without_advice, write_manifest

MAX_K = 1000  # the most hits one search returns; more would be a dump, not a search


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


def resolve_index(spec: str, options: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """An index name and its options from ``spec``: a registered name, or a shortcut one index understands."""
    from latentstack.registry import get_registry

    reg = get_registry()
    names = reg.names("index")
    if spec in names:
        return spec, dict(options or {})
    for name in names:
        found = reg.get_class("index", name).options_from_shortcut(spec)
        if found is not None:
            return name, {**found, **dict(options or {})}
    forms = [f"{name}: {form}" for name in names if (form := reg.get_class("index", name).shortcuts)]
    msg = (f"unknown index {spec!r}: not a registered index ({', '.join(names) or 'none'}) nor a shortcut any of "
           f"them reads{' (' + '; '.join(forms) + ')' if forms else ''}")
    raise UnknownNameError(msg + reg.hidden_note())


def check_k(k: object) -> int:
    """``k`` as an int from 1 to MAX_K, or an InputError that says so."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= int(k) <= MAX_K:  # np.int64 too
        msg = f"k must be a whole number from 1 to {MAX_K}, got {k!r}"
        raise InputError(msg)
    return int(k)


def _as_document(item: object, n: int) -> Document:
    """A Document as given, or one made from a dict as a JSONL line's is; anything else is an InputError."""
    from latentstack.search.sources import document_of

    if isinstance(item, Document):
        return item
    if isinstance(item, Mapping):
        return document_of(dict(item), "documents", n)
    msg = (f"documents must be Document objects or dicts with a 'text', got a {type(item).__name__}: wrap each text, "
           "e.g. Document('id-1', text)")
    raise InputError(msg)


class Collection(Catalog):
    """Documents made searchable. Build with ``create``, reopen with ``load`` (``Catalog.open`` reads the documents
    alone).

    Any registered Index can hold the vectors (``index``) and any text-accepting Index can
    hold the passages for lexical and hybrid search (``lexical``, None for none).
    """

    def __init__(self, path: Path, manifest: dict[str, Any], embedder: Embedder, store: DocumentStore,
                 dense: Index | None, lexical: Index | None) -> None:
        super().__init__(path, manifest, store)
        self.embedder, self.dense, self.lexical = embedder, dense, lexical
        self.loaded: tuple[Path, str] | None = None  # (folder, manifest digest) this object started from
        self.query_embedder: Embedder | None = None  # another runtime of the index's model, for queries only
        self._runtime_checked = False
        self._embedded = False  # whether this object embedded passages: a save then records the embedder anew

    # -- creation and loading ---------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, *, embedder: str = "bert", embedder_options: Mapping[str, Any] | None = None,
               index: str = "faiss", index_options: Mapping[str, Any] | None = None, lexical: str | None = "bm25",
               lexical_options: Mapping[str, Any] | None = None, chunking: ChunkConfig | None = None) -> Collection:
        """A new, empty collection (written on the first ``save``).

        ``index`` is a registered Index name or a shortcut one of them reads (a FAISS
        factory string such as ``"IVF1024,Flat"``); its options go in ``index_options``.
        """
        from latentstack.registry import get_registry
        from latentstack.storage import check_replaceable

        check_replaceable(path, "collection")  # a folder of the user's files is refused now, not after the embedding
        reg = get_registry()
        emb = reg.build_as(Embedder, embedder, **dict(embedder_options or {}))
        index_name, index_opts = resolve_index(index, index_options)
        dense = reg.build_as(Index, index_name, **index_opts)  # checks the options now, not at the first add
        if emb.sparse and not dense.accepts_sparse:
            msg = (f"the {embedder} embedder gives sparse vectors, which the {index_name} index does not take: "
                   "use a dense embedder (lsa is TF-IDF made dense; the bm25 lexical index already matches words)")
            raise ConfigError(msg)
        if not emb.trainable:
            dense.check_dim(emb.dim)  # and that the index fits the vectors (the dimension is read, not computed)
        lex = reg.build_as(Index, lexical, **dict(lexical_options or {})) if lexical else None
        if lex is not None and not lex.accepts_text:
            msg = f"the lexical index {lexical!r} does not index texts; choose a text index (such as bm25) or None"
            raise ConfigError(msg)
        manifest = {
            "embedder": {"name": embedder, "config": emb.config.to_dict()},
            "index": {"name": index_name, "options": index_opts},
            "lexical": {"name": lexical, "options": lex.config.to_dict()} if lex is not None else None,
            "chunking": attrs.asdict(chunking or ChunkConfig()),
        }
        return cls(Path(path), manifest, emb, DocumentStore(), None, lex)

    @classmethod
    def load(cls, path: str | Path, *, expect_embedder: Mapping[str, Any] | None = None,
             query_embedder: Embedder | None = None, reuse: Sequence[Embedder] = (), lexical: bool = True) -> Collection:
        """Open a saved collection; a changed model or a different requested embedder is an error.

        ``query_embedder`` embeds the queries instead of the index's own embedder (``use_for_queries``).
        ``reuse`` offers embedders built elsewhere (a server's): one with the index's embedder fingerprint
        becomes the index's own, so its model is held once; the others are ignored.
        ``lexical=False`` leaves the lexical index unread, for dense searches only (a large one takes a while
        to read): the collection then searches dense, and refuses to change or save, which would drop it.
        """
        if not isinstance(lexical, bool):
            msg = f"lexical takes True or False, got {lexical!r}"
            raise InputError(msg)
        from latentstack.registry import get_registry

        checked = read_manifest(path, kind="collection", plugin=PLUGIN, version=FORMAT)
        folder, manifest = checked.path, checked.data
        with reading(folder, "collection"):
            spec = manifest["embedder"]
            index_name = manifest["index"]["name"]
            lexical_name = manifest["lexical"]["name"] if manifest["lexical"] else None
        if expect_embedder:
            cls._check_expected(spec, expect_embedder)
        reg = get_registry()
        store = DocumentStore.open(folder / "store.sqlite")
        try:  # a damaged built part can be built again from the store, which read_manifest checked
            emb = next((e for e in reuse if e.fingerprint() == spec["fingerprint"]), None)
            emb = cls._load_embedder(folder, spec) if emb is None else emb
            dense = reg.get_class("index", index_name).load(part(folder, "dense"))
            lex = (reg.get_class("index", lexical_name).load(part(folder, "lexical")) if lexical_name and lexical
                   else None)
            col = cls(folder, manifest, emb, store, dense, lex)
            col._check_counts()
        except CorruptFileError as exc:
            msg = (f"{without_advice(str(exc))}: the documents are whole, and `latentstack index repair {folder}` "
                   "(in Python, latentstack.search.repair) rebuilds what was built from them")
            raise CorruptFileError(msg) from exc
        col.loaded = (real_path(folder), checked.digest)
        if query_embedder is not None:
            col.use_for_queries(query_embedder)
        return col

    def use_for_queries(self, embedder: Embedder) -> None:
        """Embed queries with ``embedder``, another runtime of the index's own model (such as its ONNX export, which
        needs no torch); documents added later are still embedded by the index's embedder. It must reproduce the
        index's embedder (``source_fingerprint``), else a ModelMismatchError."""
        _check_query_embedder(self.path, self.manifest["embedder"], embedder)
        self.query_embedder, self._runtime_checked = embedder, False

    @staticmethod
    def check_query_embedder(path: str | Path, embedder: Embedder) -> None:
        """``use_for_queries``'s check against the saved collection at ``path``, without loading it (its files are
        not verified here: loading it does that)."""
        checked = read_manifest(path, kind="collection", plugin=PLUGIN, version=FORMAT, verify=False)
        with reading(checked.path, "collection"):
            spec = checked.data["embedder"]
        _check_query_embedder(checked.path, spec, embedder)

    @staticmethod
    def _load_embedder(folder: Path, spec: Mapping[str, Any]) -> Embedder:
        from latentstack.registry import get_registry

        emb_cls = get_registry().get_class("embedder", spec["name"])
        emb = emb_cls.load(part(folder, "embedder")) if emb_cls.trainable else emb_cls.from_options(**spec["config"])
        if emb.fingerprint() != spec["fingerprint"]:
            msg = (f"the index at {folder} was built with embedder fingerprint {spec['fingerprint']}, but "
                   f"{spec['name']} with the same options now gives {emb.fingerprint()} (the model files changed, or "
                   "the plugin now reads them otherwise, e.g. a sentence-transformers folder's prompts): `latentstack "
                   f"index repair {folder}` embeds its documents again with the model as it is now")
            raise ModelMismatchError(msg)
        return emb

    @property
    def lexical_unread(self) -> bool:
        """Whether the collection has a lexical index that was not read (``load(lexical=False)``): it then searches
        dense only and changes nothing."""
        return bool(self.manifest["lexical"]) and self.lexical is None

    def _check_whole(self, doing: str) -> None:
        """An InputError when the lexical index was left unread: a change or a save would leave it behind."""
        if self.lexical_unread:
            msg = (f"{self.path} was loaded without its lexical index (lexical=False), for dense search only; load "
                   f"it whole to {doing}")
            raise InputError(msg)

    def _check_counts(self) -> None:
        """The store, the vector index and the lexical index must hold the same passages."""
        chunks = self.store.count_chunks()
        parts = {"vector index": len(self.dense) if self.dense is not None else 0}
        if self.lexical is not None:
            parts["lexical index"] = len(self.lexical)
        wrong = {k: v for k, v in parts.items() if v != chunks}
        if wrong:
            detail = ", ".join(f"the {k} {v}" for k, v in wrong.items())
            msg = f"the index at {self.path} is inconsistent: the store holds {chunks} passages, {detail}"
            raise CorruptFileError(msg)

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
    def add_documents(self, docs: Iterable[Document | Mapping[str, Any]], *, engine: Engine | None = None) -> dict[str, int]:
        """Chunk, embed and index documents; an existing id is replaced. Returns counts.

        ``docs`` are Documents or dicts read as JSONL lines are, or a data frame (pandas, polars)
        or pyarrow table whose rows are such dicts.

        An id given twice in one call follows the same rule: the last one wins. A document stored already with
        the same text, title and metadata is left as it is, not embedded again (counted as ``unchanged``), so
        adding a whole folder again embeds only what changed; one with the same text but another title or
        metadata takes them without being embedded again (``relabeled``), where both indexes can change
        metadata alone (``Index.sets_metadata``).
        ``engine`` chunks, embeds and indexes the passages elsewhere (e.g. a Ray cluster) with this collection's
        embedder, built there from its name and options; None embeds here.
        """
        from latentstack.search.sources import table_records

        self._check_whole("add documents to it")
        chunking = ChunkConfig(**{"min_chars": 0, **self.manifest["chunking"]})  # folders from before min_chars
        docs = table_records(docs)
        if isinstance(docs, Document | str | Mapping) or not isinstance(docs, Iterable):
            msg = f"add_documents takes a list of Documents, got {type(docs).__name__}: wrap one in a list"
            raise InputError(msg)
        given = [_as_document(d, n) for n, d in enumerate(docs, start=1)]
        kept = list({d.id: d for d in given}.values())  # the last document under each id wins
        repeated = len(given) - len(kept)
        if repeated:
            log(f"{repeated} document(s) repeated an id given earlier in the same batch: the last kept")
        empty = [d.id for d in kept if not d.text.strip()]
        kept = [d for d in kept if d.text.strip()]
        stored = {d.id: d for d in self.store.documents([d.id for d in kept])}
        unchanged = sum(stored.get(d.id) == d for d in kept)
        kept = [d for d in kept if stored.get(d.id) != d]
        relabeled = self._relabel([d for d in kept if d.id in stored and stored[d.id].text == d.text])
        kept = [d for d in kept if d.id not in relabeled]
        replaced = self.remove_documents([d.id for d in kept if d.id in stored])
        ids: list[int] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        for doc, chunks in zip(kept, self._chunk(kept, chunking, engine), strict=True):
            new = self.store.add_document(doc, [(c.position, c.start, c.end, c.text) for c in chunks])
            ids += new
            texts += [c.text for c in chunks]
            metas += [dict(doc.metadata)] * len(chunks)
        if texts:
            self._index(ids, texts, metas, engine)
        if empty:
            log(f"skipped {len(empty)} empty document(s): {', '.join(empty[:5])}{' ...' if len(empty) > 5 else ''}")
        return {"documents": len(kept), "chunks": len(texts), "replaced": replaced, "repeated": repeated,
                "skipped_empty": len(empty), "unchanged": unchanged, "relabeled": len(relabeled)}

    def _relabel(self, docs: list[Document]) -> set[str]:
        """Give stored documents whose text is unchanged their new title and metadata, in the store and the
        indexes, without embedding them again, where every index can change metadata alone; their ids."""
        indexes = [i for i in (self.dense, self.lexical) if i is not None]
        if not docs or not all(i.sets_metadata for i in indexes):
            return set()
        ids: list[int] = []
        metas: list[Mapping[str, Any]] = []
        for doc in docs:
            chunk_ids = self.store.chunk_ids([doc.id])
            ids += chunk_ids
            metas += [dict(doc.metadata)] * len(chunk_ids)
        for index in indexes:
            index.set_metadata(ids, metas)
        self.store.relabel(docs)
        return {d.id for d in docs}

    @staticmethod
    def _chunk(docs: list[Document], chunking: ChunkConfig, engine: Engine | None) -> list[list[Chunk]]:
        """Each document's chunks, cut by the engine when given."""
        if engine is not None:
            return engine.chunk([d.text for d in docs], chunking)
        return [chunk_text(d.text, chunking) for d in progress(docs, desc="chunking", unit="doc",
                                                                enabled=len(docs) > 200)]

    def _index(self, ids: list[int], texts: list[str], metas: list[dict[str, Any]], engine: Engine | None) -> None:
        if self.embedder.trainable and self.embedder.dim == 0:
            self.embedder.fit(texts)
        self._notice_truncated(texts)
        vectors = self._embed(texts, engine)
        self._embedded = True
        if self.dense is None:
            from latentstack.registry import get_registry

            spec = self.manifest["index"]
            self.dense = get_registry().build_as(Index, spec["name"], **spec["options"])
        if engine is None:
            self.dense.add(ids, vectors, metas)
        else:
            engine.build(self.dense, ids, vectors, metas)
        self.manifest["index"]["options"] = self.dense.config.to_dict()  # what the index chose (auto) is kept
        if self.lexical is not None:
            self.lexical.add(ids, texts, metas)

    def _notice_truncated(self, texts: list[str]) -> None:
        """One line when passages are longer than the embedder reads: their ends are not in their vectors."""
        cut = self.embedder.count_truncated(self.embedder.prompted(texts, "document"))
        if not cut:
            return
        said = f"{cut} of {len(texts)} passages are longer than the {self.embedder.name} embedder reads"
        if self.lexical is not None:
            log(f"{said}: their ends are in the lexical index only, which hybrid search (the default) fuses in; for "
                "dense-only search, --chunk sentences cuts shorter passages")
        else:
            log(f"{said}: their ends are not searched; --chunk sentences cuts shorter passages")

    def _embed(self, texts: list[str], engine: Engine | None) -> Any:
        """The passages' vectors, from the engine when given (checked to be what this embedder gives)."""
        if engine is None:
            return self.embedder.embed_many(texts, "document")
        if self.embedder.trainable:
            msg = (f"the {self.embedder.name} embedder is trained on the corpus, so it cannot be built on the workers "
                   "from its options: index it without an engine")
            raise ConfigError(msg)
        spec = self.manifest["embedder"]
        vectors = engine.embed(self.embedder.prompted(texts, "document"), spec["name"], spec["config"])
        if getattr(vectors, "shape", None) != (len(texts), self.embedder.dim):
            msg = (f"engine {engine.name!r} returned vectors of shape {getattr(vectors, 'shape', None)} for "
                   f"{len(texts)} texts of the {self.embedder.dim}-d {spec['name']} embedder")
            raise ModelMismatchError(msg)
        return vectors

    def remove_documents(self, doc_ids: Sequence[str]) -> int:
        """Remove documents; they vanish from results at once. Returns how many existed."""
        self._check_whole("remove documents from it")
        doc_ids = [as_doc_id(d) for d in id_list(doc_ids)]  # "doc-1" alone would be the ids d, o, c, -, 1
        chunk_ids = self.store.chunk_ids(doc_ids)
        if self.dense is not None:
            self.dense.remove(chunk_ids)
        if self.lexical is not None:
            self.lexical.remove(chunk_ids)
        return self.store.remove_documents(doc_ids)

    # -- search -----------------------------------------------------------------------
    def search(self, query: str, k: int = 10, *, hybrid: bool = True, where: Mapping[str, Any] | None = None,
               fusion: str | None = None, by_document: bool = False) -> list[SearchHit]:
        """The k best passages (or documents, by their best passage) for a query.

        Hybrid by default: the dense and lexical rankings fused (``fusion``: zscore by
        default, or rrf), which ranked better than either alone in every measurement
        (docs/search.md); ``hybrid=False`` ranks by the dense score alone, and naming a fusion
        with it is an InputError. A collection without a lexical index searches dense.
        """
        return self.search_many([query], k, hybrid=hybrid, where=where, fusion=fusion, by_document=by_document)[0]

    def search_many(self, queries: Sequence[str], k: int = 10, *, hybrid: bool = True,
                    where: Mapping[str, Any] | None = None, fusion: str | None = None,
                    by_document: bool = False, vectors: Any = None) -> list[list[SearchHit]]:
        """``search`` for many queries, embedding them in one batch (or using ``vectors``, already embedded)."""
        if not isinstance(hybrid, bool):  # "no" would be truthy
            msg = f"hybrid takes True or False, got {hybrid!r}"
            raise InputError(msg)
        k, fusion = check_k(k), check_fusion(fusion, hybrid)
        check_where(where)  # an empty collection answers [] below: a mistake is still one
        if isinstance(queries, str):
            msg = "search_many takes a list of queries, got a single str: wrap it in a list or call search()"
            raise InputError(msg)
        for q in queries:
            if not isinstance(q, str):
                msg = f"a query is a str, got {type(q).__name__}: search_many takes several"
                raise InputError(msg)
            if not q.strip():
                msg = "the query is empty: give some words to search for"
                raise InputError(msg)
        if self.dense is None or len(self.dense) == 0:
            return [[] for _ in queries]
        if where:
            check_known(self.store.metadata_keys(), where)  # its shape was checked above
        k_live = min(k, len(self.dense))  # never ask an index for more than it holds
        depth = min(max(k_live * (4 if by_document else 1), 100 if hybrid else k_live), len(self.dense))
        if vectors is None:
            vectors = self.embed_queries(queries)
        dense = self.dense.search_batch(vectors, depth, where)
        if hybrid and self.lexical is None:
            log("this collection was loaded without its lexical index (lexical=False): searching dense only"
                if self.lexical_unread else "this collection has no lexical index: searching dense only")
            hybrid = False
        if hybrid and self.lexical is not None:
            lexical = self.lexical.search_batch(list(queries), depth, where)
            ranked = [fuse(d, lx, fusion) for d, lx in zip(dense, lexical, strict=True)]
        else:
            ranked = dense
        return [self._resolve(hits, k, by_document) for hits in ranked]

    def similar(self, doc_id: str, k: int = 10, *, where: Mapping[str, Any] | None = None) -> list[SearchHit]:
        """The k documents most like the stored document ``doc_id`` (each by its best passage; itself left out),
        by the dense vectors: its passages embedded again as documents, their mean the query (``similar``)."""
        from latentstack.search.similar import document_vector

        k = check_k(k)
        check_where(where)
        if not isinstance(doc_id, str):
            msg = f"a document id is a str, got {type(doc_id).__name__}"
            raise InputError(msg)
        own = self.store.chunk_ids([doc_id])
        if not own or self.dense is None:
            msg = f"no document {doc_id!r} in {self.path}: `latentstack index export {self.path}` lists the ids stored"
            raise InputError(msg)
        if where:
            self._check_keys(where)
        vector = document_vector(self.query_embedder or self.embedder, [c.text for c in self.store.chunks(own).values()])
        hits = self.dense.search_batch(vector[None, :], min(len(self.dense), (k + len(own)) * 4), where)[0]
        return self._resolve(hits, k, by_document=True, skip=doc_id)

    def embed_queries(self, queries: Sequence[str]) -> Any:
        """The query vectors (from ``query_embedder`` when set); the first time, says whether they run as the
        index's vectors did."""
        if not self._runtime_checked:
            self._runtime_checked = True
            self._check_runtime()
        return (self.query_embedder or self.embedder).embed_many(list(queries), "query")

    def _check_runtime(self) -> None:
        """The runtime the index was built with against the one its queries run in now (e.g. a new CPU)."""
        if self.query_embedder is not None:
            q = self.query_embedder
            detail(f"queries embedded by the {q.name} embedder ({q.fingerprint()}), another runtime of the index's "
                   "model: its parity with it was checked when it was made")
            return
        built = (self.manifest["embedder"].get("runtime") or {}).get("dtype")
        now = self.embedder.runtime_info().get("dtype")
        if built is None or now is None:
            return
        detail(f"queries embedded in {now}; the index's vectors were embedded in {built}")
        if built != now:
            log(f"note: the index at {self.path} holds {built} vectors and queries run in {now} here; the parity "
                "probe keeps the two within cosine 0.9999; rebuild the index here to match exactly")

    def _resolve(self, hits: Sequence[Any], k: int, by_document: bool, skip: str | None = None) -> list[SearchHit]:
        """Keep the k best live hits (one per document if asked; none of the document ``skip``), then read only
        those from the store."""
        doc_of = self.store.doc_ids([int(h.id) for h in hits])
        kept, seen = [], set()
        for h in hits:
            doc = doc_of.get(int(h.id))
            if doc is None or doc == skip or (by_document and doc in seen):
                continue
            seen.add(doc)
            kept.append(h)
            if len(kept) == k:
                break
        chunks = self.store.chunks([int(h.id) for h in kept])
        return [_hit(chunks[int(h.id)], h.score) for h in kept]

    # -- persistence ------------------------------------------------------------------
    def save(self) -> None:
        """Write the whole folder atomically: a crash leaves the previous version loadable. The embedder's
        fingerprint, dimension and runtime are recorded when passages were embedded (a removal or new metadata
        alone keeps the runtime the vectors were embedded in, and loads no model)."""
        if self.dense is None:
            msg = "nothing to save: the collection has no documents yet"
            raise InputError(msg)
        self._check_whole("save it")
        if self._embedded or "dim" not in self.manifest["embedder"]:  # else what was loaded holds (the vectors do)
            self.manifest["embedder"]["fingerprint"] = self.embedder.fingerprint()
            self.manifest["embedder"]["dim"] = self.embedder.dim
            self.manifest["embedder"]["runtime"] = self.embedder.runtime_info()
        self.manifest["counts"] = {"documents": self.store.count_documents(), "chunks": self.store.count_chunks()}
        same = self.loaded is not None and self.loaded[0] == real_path(self.path)
        with component_dir(self.path, "collection", expect_digest=self.loaded[1] if same and self.loaded else None) as tmp:
            self.store.save_to(tmp / "store.sqlite")
            self.dense.save(tmp / "dense")
            if self.lexical is not None:
                self.lexical.save(tmp / "lexical")
            if self.embedder.trainable:
                self.embedder.save(tmp / "embedder")
            digest = write_manifest(tmp, kind="collection", plugin=PLUGIN, version=FORMAT, data=self.manifest)
        self.loaded = (real_path(self.path), digest)  # the next save from this object builds on this version


def _check_query_embedder(path: Path, spec: Mapping[str, Any], embedder: Embedder) -> None:
    """A ModelMismatchError unless ``embedder`` reproduces the index's embedder (its ``source_fingerprint``)."""
    if embedder.source_fingerprint() != spec["fingerprint"]:
        msg = (f"the index at {path} was built with embedder fingerprint {spec['fingerprint']}, but the "
               f"{embedder.name} embedder given reproduces {embedder.source_fingerprint()}: export the index's "
               "own model with the same pooling and options, or query without it")
        raise ModelMismatchError(msg)
