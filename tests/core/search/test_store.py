"""The SQLite document store: documents, chunks, metadata, snapshots, corruption."""

from __future__ import annotations

import pytest

from latentstack.errors import CorruptFileError
from latentstack.search.store import Document, DocumentStore


def test_round_trip_and_remove(tmp_path) -> None:  # noqa: ANN001
    """Chunks come back joined with their document; removal cascades; snapshots reload."""
    store = DocumentStore()
    ids = store.add_document(Document("d1", "alpha. beta.", "T", {"lang": "en"}), [(0, 0, 6, "alpha."), (1, 7, 12, "beta.")])
    store.add_document(Document("d2", "gamma", metadata={"lang": "de"}), [(0, 0, 5, "gamma")])
    chunk = store.chunks(ids)[ids[1]]
    assert (chunk.doc_id, chunk.title, chunk.text, chunk.metadata) == ("d1", "T", "beta.", {"lang": "en"})
    assert store.metadata_keys() == {"lang"}
    store.save_to(tmp_path / "s.sqlite")
    assert store.remove_documents(["d1", "nope"]) == 1
    assert store.count_chunks() == 1
    again = DocumentStore.open(tmp_path / "s.sqlite")
    assert again.count_documents() == 2 and again.count_chunks() == 3


def test_corrupt_file_is_clear(tmp_path) -> None:  # noqa: ANN001
    """A file that is not SQLite is a CorruptFileError saying to rebuild."""
    bad = tmp_path / "s.sqlite"
    bad.write_bytes(b"not a database" * 100)
    with pytest.raises(CorruptFileError, match="rebuild"):
        DocumentStore.open(bad)
