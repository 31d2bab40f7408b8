"""The document store: documents, their chunks and metadata in SQLite (stdlib only).

Chunk ids are the ids the vector and BM25 indexes hold, so a hit maps straight back
to its passage and document. The store works on an in-memory copy; ``save_to`` writes
a consistent snapshot with SQLite's backup API, so the index folder can be swapped
in atomically.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from latentstack.errors import CorruptFileError, InputError
from latentstack.textfile import SURROGATE_HELP, lone_surrogate

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', text TEXT NOT NULL, metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    position INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
"""


def as_doc_id(value: object) -> str:
    """A document id as text (a number's, NumPy's included, as ``str`` writes it); None, empty and container ids
    are refused (str(None) would be "None")."""
    if value is None or isinstance(value, (dict, list, tuple, set, bool)) or not str(value).strip():
        msg = f"a document id must be a non-empty string or number, got {value!r}"
        raise InputError(msg)
    _check_unicode(str(value), "id", str(value))
    return str(value)


def _check_unicode(value: str, field: str, doc_id: str) -> None:
    found = lone_surrogate(value)
    if found:
        msg = f"document {doc_id!r}: its {field} holds {found}, {SURROGATE_HELP}"
        raise InputError(msg)


def _text(doc: Document, attribute: attrs.Attribute[Any], value: object) -> None:
    """A Document's text and title: str, valid Unicode (SQLite and every tokenizer refuse a lone surrogate)."""
    if not isinstance(value, str):
        msg = f"document {doc.id!r}: its {attribute.name} must be a str, got {type(value).__name__}"
        raise InputError(msg)
    _check_unicode(value, attribute.name, doc.id)


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays (a DataFrame row's values) as Python's, inside dicts and lists too."""
    import numpy as np

    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _metadata(doc: Document, attribute: attrs.Attribute[Any], value: object) -> None:
    """A dict that JSON can hold (it is stored as JSON), in valid Unicode."""
    if not isinstance(value, Mapping):
        msg = f"document {doc.id!r}: its metadata must be a dict of fields, got {type(value).__name__}"
        raise InputError(msg)
    for key, field in value.items():
        try:
            text = json.dumps(field, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            msg = (f"document {doc.id!r}: its metadata {key!r} is {type(field).__name__}, which JSON cannot hold "
                   f"({exc}): give it as a str, number, bool, list or dict (e.g. str(value))")
            raise InputError(msg) from exc
        _check_unicode(text, f"metadata {key!r}", doc.id)


@attrs.frozen
class Document:
    """A document to index: an id, its text, an optional title and metadata."""

    id: str = attrs.field(converter=as_doc_id)
    text: str = attrs.field(validator=_text)
    title: str = attrs.field(default="", validator=_text)
    metadata: Mapping[str, Any] = attrs.field(factory=dict, converter=_plain, validator=_metadata)


@attrs.frozen
class StoredChunk:
    """A chunk as read back from the store, with its document's title and metadata."""

    id: int
    doc_id: str
    position: int
    start: int
    end: int
    text: str
    title: str
    metadata: Mapping[str, Any]


#: A chunk's row joined with its document's title and metadata, as ``_stored_chunk`` reads it.
_CHUNK_ROWS = ("SELECT c.id, c.doc_id, c.position, c.start, c.end, c.text, d.title, d.metadata "
               "FROM chunks c JOIN documents d ON d.id = c.doc_id")


def _stored_chunk(row: Sequence[Any]) -> StoredChunk:
    return StoredChunk(*row[:7], json.loads(row[7]))  # type: ignore[call-arg]


class DocumentStore:
    """SQLite tables of documents and chunks, held in memory until saved.

    The in-memory connection may be used from any thread (a server searches from its
    worker threads); callers that share one store across threads serialise their calls.
    """

    def __init__(self, db: sqlite3.Connection | None = None) -> None:
        self.db = db or sqlite3.connect(":memory:", check_same_thread=False)
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.executescript(SCHEMA)
        self._keys: tuple[int, frozenset[str]] | None = None  # the metadata keys, as of a count of changes

    @classmethod
    def open(cls, path: str | Path) -> DocumentStore:
        """Load a saved store file into memory; a corrupt file is a CorruptFileError."""
        mem = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            src = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
            src.backup(mem)
            src.close()
            mem.execute("SELECT count(*) FROM chunks").fetchone()
            if mem.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("integrity check failed")
        except sqlite3.Error as exc:
            msg = f"the document store {path} is corrupt or unreadable ({exc}); rebuild the index"
            raise CorruptFileError(msg) from exc
        return cls(mem)

    def save_to(self, path: str | Path) -> None:
        """Write a consistent snapshot to ``path`` (a new file)."""
        dst = sqlite3.connect(Path(path))
        with dst:
            self.db.backup(dst)
        dst.close()

    def add_document(self, doc: Document, chunks: Sequence[tuple[int, int, int, str]]) -> list[int]:
        """Insert (or replace) a document and its chunks (position, start, end, text); returns chunk ids."""
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO documents (id, title, text, metadata) VALUES (?, ?, ?, ?)",
                (doc.id, doc.title, doc.text, json.dumps(dict(doc.metadata))),
            )
            cur = self.db.executemany(
                "INSERT INTO chunks (doc_id, position, start, end, text) VALUES (?, ?, ?, ?, ?)",
                [(doc.id, *c) for c in chunks],
            )
            del cur
            rows = self.db.execute("SELECT id FROM chunks WHERE doc_id = ? ORDER BY position", (doc.id,))
            return [r[0] for r in rows]

    def relabel(self, docs: Sequence[Document]) -> None:
        """Replace stored documents' titles and metadata; their text and chunks stay as they are."""
        with self.db:
            self.db.executemany("UPDATE documents SET title = ?, metadata = ? WHERE id = ?",
                                [(d.title, json.dumps(dict(d.metadata)), d.id) for d in docs])

    def chunk_ids(self, doc_ids: Iterable[str]) -> list[int]:
        """Ids of every chunk of these documents."""
        ids = list(doc_ids)
        marks = ",".join("?" * len(ids))
        return [r[0] for r in self.db.execute(f"SELECT id FROM chunks WHERE doc_id IN ({marks})", ids)] if ids else []

    def remove_documents(self, doc_ids: Iterable[str]) -> int:
        """Delete documents (and their chunks); returns how many existed."""
        ids = list(doc_ids)
        with self.db:
            before = self.count_documents()
            self.db.executemany("DELETE FROM chunks WHERE doc_id = ?", [(i,) for i in ids])
            self.db.executemany("DELETE FROM documents WHERE id = ?", [(i,) for i in ids])
            return before - self.count_documents()

    def documents(self, ids: Iterable[str] | None = None) -> Iterator[Document]:
        """The stored documents as they were added, in the order added; only those of ``ids`` (in that order, ids
        not stored left out) when given."""
        query = "SELECT id, title, text, metadata FROM documents"
        rows = (self.db.execute(f"{query} ORDER BY rowid").fetchall() if ids is None else
                [r for i in ids for r in self.db.execute(f"{query} WHERE id = ?", (i,)).fetchall()])
        for doc_id, title, text, metadata in rows:
            yield Document(doc_id, text, title, json.loads(metadata))

    def document_metadata(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every stored document's id and metadata, in the order added."""
        for doc_id, metadata in self.db.execute("SELECT id, metadata FROM documents ORDER BY rowid"):
            yield doc_id, json.loads(metadata)

    def document_ids(self) -> list[str]:
        """Every stored document's id, in the order added."""
        return [r[0] for r in self.db.execute("SELECT id FROM documents ORDER BY rowid")]

    def has_document(self, doc_id: str) -> bool:
        """True when a document with this id is stored."""
        return self.db.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone() is not None

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        """Chunks by id, joined with their document's title and metadata."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"{_CHUNK_ROWS} WHERE c.id IN ({marks})", list(ids))
        return {r[0]: _stored_chunk(r) for r in rows}

    def doc_ids(self, ids: Sequence[int]) -> dict[int, str]:
        """The document id of each chunk id (cheap: no text or metadata)."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(self.db.execute(f"SELECT id, doc_id FROM chunks WHERE id IN ({marks})", list(ids)).fetchall())

    def all_chunks(self) -> list[StoredChunk]:
        """Every chunk, in id order, with its document's title and metadata (in one query: ``chunks`` of every id
        would pass more ids than SQLite takes in one statement)."""
        return [_stored_chunk(r) for r in self.db.execute(f"{_CHUNK_ROWS} ORDER BY c.id")]

    def count_documents(self) -> int:
        """Number of documents."""
        return self.db.execute("SELECT count(*) FROM documents").fetchone()[0]

    def count_chunks(self) -> int:
        """Number of chunks."""
        return self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def metadata_keys(self) -> frozenset[str]:
        """Every metadata key some document has (read again only after a change: every filtered search asks)."""
        if self._keys is None or self._keys[0] != self.db.total_changes:
            keys: set[str] = set()
            for _, meta in self.document_metadata():
                keys.update(meta)
            self._keys = self.db.total_changes, frozenset(keys)
        return self._keys[1]
