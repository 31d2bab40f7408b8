"""The SQLite document store: documents, chunks, metadata, snapshots, corruption."""

from __future__ import annotations

import re

import pytest

from latentstack.errors import CorruptFileError, InputError
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


@pytest.mark.parametrize(("fields", "words"), [
    ({"id": "a", "text": None}, "its text must be a str, got NoneType"),
    ({"id": "a", "text": "x", "title": 3}, "its title must be a str"),
    ({"id": "a", "text": "x", "metadata": ["lang"]}, "its metadata must be a dict"),
    ({"id": "a", "text": "cut \ud83d emoji"}, "its text holds U+D83D at character 4"),
    ({"id": "\udc80", "text": "x"}, "its id holds U+DC80"),
])
def test_a_document_the_store_cannot_hold_is_refused_when_made(fields: dict, words: str) -> None:
    """What SQLite or a tokenizer would fail on later (a traceback mid-build) is a one-line InputError at once."""
    with pytest.raises(InputError, match=re.escape(words)):
        Document(**fields)


def test_metadata_keys_follow_every_change() -> None:
    """The keys are read once and kept (every filtered search asks for them), and read again after a change."""
    store = DocumentStore()
    store.add_document(Document("d1", "alpha", metadata={"lang": "en"}), [(0, 0, 5, "alpha")])
    assert store.metadata_keys() == {"lang"}
    store.add_document(Document("d2", "beta", metadata={"year": 2020}), [(0, 0, 4, "beta")])
    assert store.metadata_keys() == {"lang", "year"}
    store.add_document(Document("d1", "alpha", metadata={"topic": "a"}), [(0, 0, 5, "alpha")])  # replaced
    assert store.metadata_keys() == {"topic", "year"}
    store.remove_documents(["d2"])
    assert store.metadata_keys() == {"topic"}
