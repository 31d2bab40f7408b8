"""Kept responses on disk: the SQLite file a server keeps its responses in (``serve --keep-responses FILE``), so
that ``previous_response_id`` goes on from a response after the server restarts.

A response is one row, written with the rows it pushed out in one transaction (SQLite's journal leaves it whole
or absent after a crash); rows come back in the order they were kept. A ``meta`` row names what the file holds:
a file that is not SQLite, or another program's database, is refused before anything is written to it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from latentstack.errors import CorruptFileError, InputError

KIND = "latentstack responses"
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE responses (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, previous TEXT,
                        items TEXT NOT NULL, response TEXT NOT NULL, inputs INTEGER NOT NULL);
"""

#: A kept response as stored: the id it followed, its items (inputs, then outputs), the response, how many inputs.
Row = tuple[str | None, list[dict[str, Any]], dict[str, Any], int]


class ResponsesFile:
    """The responses kept in one SQLite file (made, readable by its owner alone, when it does not exist)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.lock = threading.Lock()
        self.db = _open(self.path)

    def rows(self) -> Iterator[Row]:
        """Every kept response, oldest first."""
        query = "SELECT id, previous, items, response, inputs FROM responses ORDER BY seq"
        for response_id, previous, items, response, inputs in self.db.execute(query):
            try:
                yield previous, json.loads(items), json.loads(response), int(inputs)
            except (ValueError, TypeError):
                msg = (f"{self.path}: the kept response {response_id!r:.80} is damaged: move the file away to begin "
                       "a new one")
                raise CorruptFileError(msg) from None

    def add(self, row: Row, texts: tuple[str, str], dropped: Iterable[str] = ()) -> None:
        """Keep ``row`` (``texts``: the JSON of its items and of its response) and forget the responses ``dropped``,
        in one transaction."""
        previous, _, response, inputs = row
        with self.lock, self.db:
            self.db.execute("INSERT OR REPLACE INTO responses (id, previous, items, response, inputs) "
                            "VALUES (?, ?, ?, ?, ?)", (response["id"], previous, *texts, inputs))
            self._forget(dropped)

    def drop(self, ids: Iterable[str]) -> None:
        """Forget the responses ``ids``."""
        with self.lock, self.db:
            self._forget(ids)

    def _forget(self, ids: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM responses WHERE id = ?", [(i,) for i in ids])

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ResponsesFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open(path: Path) -> sqlite3.Connection:
    """``path``'s database, its tables made when the file is new; one of another kind is a one-line error."""
    if path.is_dir() or not path.parent.is_dir():
        msg = (f"{path} cannot keep responses: {'it is a folder' if path.is_dir() else 'its folder does not exist'}; "
               "give a file path (the file is made if it does not exist)")
        raise InputError(msg)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # conversations: the owner's alone
    db = sqlite3.connect(path, check_same_thread=False)
    try:
        _check(db, path)
    except sqlite3.DatabaseError as exc:
        db.close()
        msg = (f"{path} is not a file of kept responses ({exc}): give another path, or move it away to begin a "
               "new one")
        raise CorruptFileError(msg) from None
    except CorruptFileError:
        db.close()
        raise
    return db


def _check(db: sqlite3.Connection, path: Path) -> None:
    """Make a new file's tables; refuse another program's database."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        db.executescript(f"BEGIN; {SCHEMA} INSERT INTO meta VALUES ('kind', '{KIND}'), ('version', '1'); COMMIT;")
    elif "meta" not in tables or db.execute("SELECT value FROM meta WHERE key = 'kind'").fetchone() != (KIND,):
        msg = f"{path} is another program's database, not a file of kept responses: give another path"
        raise CorruptFileError(msg)
