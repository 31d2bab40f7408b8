"""Rebuilding the damaged parts of a saved collection from the documents its store holds.

A collection folder holds the user's documents (``store.sqlite``, their text, chunks and
metadata) and what was built from them: the vector index, the lexical index and, for a
fitted embedder (tfidf, lsa), the embedder. A damaged built part (a truncated file, a
checksum that no longer matches, a part that holds another number of passages than the
store) can always be built again from the store, with the settings the manifest recorded,
so nothing is lost as long as the store is whole. ``repair`` checks each part as a load
does, rebuilds those that fail, keeps the others, and saves the folder atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from latentstack.errors import CorruptFileError, InputError, ModelMismatchError
from latentstack.interfaces import Embedder, Index
from latentstack.locks import real_path, writer_lock
from latentstack.progress import log
from latentstack.search.catalog import Catalog
from latentstack.search.collection import Collection
from latentstack.storage import part, read_manifest, without_advice

OK = "ok"


def repair(path: str | Path, wait: float | None = None, *, check: bool = False) -> dict[str, str]:
    """Check each built part of the collection at ``path`` and rebuild the damaged ones from its stored documents.

    Each part is checked as a load checks it, and every file of it against its checksum (a load leaves some
    for later, such as BM25's word ids). Returns each part's state: ``"ok"``, or ``"rebuilt: <what was
    wrong>"`` (``"damaged: ..."`` with ``check``, which writes nothing). A damaged embedder (or one whose
    model files changed) is built again from its recorded options, fitted on the stored passages where it learns
    from them, and every passage is embedded again. Nothing is written when every part is whole. A damaged
    store is a CorruptFileError: the documents cannot be rebuilt from anything. The folder's writer lock is
    held throughout (``wait``: seconds to wait for another writer).
    """
    if not isinstance(check, bool):
        msg = f"check takes True or False, got {check!r}"
        raise InputError(msg)
    with writer_lock(path, wait):
        return _repair(path, check)


def _repair(path: str | Path, check: bool) -> dict[str, str]:
    catalog = Catalog.open(path)  # the store's checksum checked: the documents are whole
    folder, manifest = catalog.path, catalog.manifest
    passages = catalog.store.count_chunks()
    emb, wrong_emb = _loaded(lambda: Collection._load_embedder(folder, manifest["embedder"]), None)
    dense, wrong_dense = _loaded(lambda: _load_index(folder, "dense", manifest["index"]["name"]), passages)
    state = {"embedder": wrong_emb, "dense": wrong_dense}
    lexical = None
    if manifest["lexical"]:
        lexical, state["lexical"] = _loaded(lambda: _load_index(folder, "lexical", manifest["lexical"]["name"]), passages)
    if wrong_emb and not wrong_dense:
        state["dense"] = "its vectors come from the embedder above"
    if any(state.values()) and not check:
        col = _rebuilt(catalog, emb, None if state["dense"] else dense, lexical)
        col.loaded = (real_path(folder), str(catalog.digest))
        col.save()
    done = "damaged" if check else "rebuilt"
    return {name: f"{done}: {wrong}" if wrong else OK for name, wrong in state.items()}


def _loaded(load: Any, passages: int | None) -> tuple[Any, str | None]:
    """A part as a load reads it and None, or None and what is wrong with it (an index holding another number
    of passages than the store included)."""
    try:
        got = load()
    except (CorruptFileError, ModelMismatchError) as exc:
        return None, without_advice(str(exc))
    if passages is not None and len(got) != passages:
        return None, f"it holds {len(got)} passages, the store {passages}"
    return got, None


def _load_index(folder: Path, name: str, plugin: str) -> Index:
    """The index as a load reads it, once every file of its folder has passed its checksum."""
    from latentstack.registry import get_registry

    inner = part(folder, name)
    read_manifest(inner, kind="index", plugin=plugin, version=None)
    return get_registry().get_class("index", plugin).load(inner)


def _rebuilt(catalog: Catalog, emb: Embedder | None, dense: Index | None, lexical: Index | None) -> Collection:
    """A Collection over the catalog's store with the parts given, and the missing ones built from its passages."""
    from latentstack.registry import get_registry

    reg, manifest = get_registry(), catalog.manifest
    chunks = catalog.store.all_chunks()
    ids, texts = [c.id for c in chunks], [c.text for c in chunks]
    metas = [dict(c.metadata) for c in chunks]
    col = Collection(catalog.path, manifest, emb or _fresh_embedder(manifest["embedder"], texts), catalog.store,
                     dense, lexical)
    if dense is None:
        log(f"embedding {len(texts)} passages again with the {manifest['embedder']['name']} embedder")
        col._embedded = True
        col.dense = reg.build_as(Index, manifest["index"]["name"], **manifest["index"]["options"])
        col.dense.add(ids, col.embedder.embed_many(texts, "document"), metas)
    if manifest["lexical"] and lexical is None:
        spec = manifest["lexical"]
        col.lexical = reg.build_as(Index, spec["name"], **spec["options"])
        col.lexical.add(ids, texts, metas)
    return col


def _fresh_embedder(spec: dict[str, Any], texts: list[str]) -> Embedder:
    """The embedder built again from its recorded name and options; fitted on ``texts`` where it learns."""
    from latentstack.registry import get_registry

    emb = get_registry().build_as(Embedder, spec["name"], **spec["config"])
    return emb.fit(texts) if emb.trainable else emb
