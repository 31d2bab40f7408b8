"""A saved collection's documents without its indexes or its embedder: what ``index info`` and ``export`` read.

Loading a collection reads its vector and lexical indexes and builds its embedder (a fitted
one from its folder, checked against the fingerprint it was saved with); listing, filtering
and exporting its documents needs none of them. ``Catalog.open`` reads the manifest and the
document store only; a ``Collection`` is a Catalog with its indexes and embedder.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from latentstack.interfaces.index import id_list
from latentstack.metadata import check_known, check_where, matcher
from latentstack.search.store import Document, DocumentStore, as_doc_id
from latentstack.storage import read_manifest

FORMAT = 2  # 2: any index plugin, lexical index optional
PLUGIN = "core"  # collections are written by the core, not by a plugin


class Catalog:
    """The documents of a saved collection and its manifest, read-only."""

    def __init__(self, path: Path, manifest: dict[str, Any], store: DocumentStore, digest: str | None = None) -> None:
        self.path, self.manifest, self.store = path, manifest, store
        self.digest = digest  # the manifest's, as read: a save from what was read expects the folder still holds it

    @classmethod
    def open(cls, path: str | Path) -> Catalog:
        """The saved collection at ``path``, its manifest and store checked as ``Collection.load`` checks them."""
        checked = read_manifest(path, kind="collection", plugin=PLUGIN, version=FORMAT)
        return cls(checked.path, checked.data, DocumentStore.open(checked.path / "store.sqlite"), checked.digest)

    def documents(self, doc_ids: Sequence[str] | None = None) -> Iterator[Document]:
        """The documents stored, as they were added (id, text, title, metadata): every one in the order added, or
        those of ``doc_ids`` that are stored. Empty documents were never stored."""
        return self.store.documents(None if doc_ids is None else [as_doc_id(d) for d in id_list(doc_ids)])

    def document_ids(self, where: Mapping[str, Any] | None = None) -> list[str]:
        """The stored documents' ids in the order added; with ``where``, those whose metadata matches it, as a
        search's filter reads it (an unknown key is an error): what to export or remove by metadata."""
        if not where:
            return self.store.document_ids()
        self._check_keys(where)
        test = matcher(where)
        return [doc_id for doc_id, metadata in self.store.document_metadata() if test(metadata)]

    def _check_keys(self, where: Mapping[str, Any]) -> None:
        """A filter of the right shape whose keys some stored document has (the store keeps its keys)."""
        check_where(where)
        check_known(self.store.metadata_keys(), where)

    def no_match_reason(self, where: Mapping[str, Any]) -> str | None:
        """Why ``where`` matches no document (a condition none meets, and the values its key holds), or None when
        some document matches it."""
        from latentstack.search.facets import no_match_reason

        return no_match_reason((meta for _, meta in self.store.document_metadata()), where)

    def info(self) -> dict[str, Any]:
        """What ``latentstack index info`` shows: the manifest, the live counts, and each metadata key's values."""
        from latentstack.search.facets import metadata_values

        values = metadata_values(meta for _, meta in self.store.document_metadata())  # a key per key some holds
        return {**self.manifest, "path": str(self.path), "metadata_keys": sorted(values), "metadata": values,
                "live": {"documents": self.store.count_documents(), "chunks": self.store.count_chunks()}}
