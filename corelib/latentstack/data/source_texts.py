"""The texts of a ``--from`` source: a file's lines, or one column of a CSV, TSV or JSONL file.

``embed`` and ``classify predict`` read a plain file (or standard input) a text a line. A
table's lines are not texts (its header would be embedded or labeled as one, and every row
whole, commas and all), so a ``.csv``, ``.tsv`` or ``.jsonl`` file is read by its column
``text_col`` instead, a text a row, and its rows are kept for the output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from latentstack.errors import InputError

TABLES = (".csv", ".tsv", ".tab", ".jsonl")


@attrs.frozen
class SourceTexts:
    """The texts read, and for a table each text's whole row and the name of the texts' column."""

    texts: list[str]
    rows: list[dict[str, Any]] | None = None
    column: str = "text"

    def fields(self, i: int) -> dict[str, Any]:
        """Row ``i``'s fields but the text (none for a file read a line at a time)."""
        return {k: v for k, v in self.rows[i].items() if k and k != self.column} if self.rows is not None else {}


def source_texts(source: str, text_col: str | None, encoding: str | None = None) -> SourceTexts:
    """The lines of ``source`` (``-``: standard input), or the ``text_col`` column (default ``text``) of a table,
    decoded as ``encoding`` (default UTF-8; the not-UTF-8 error names ``--encoding``)."""
    from latentstack.textfile import lines, read_source

    if source == "-" or Path(source).suffix.lower() not in TABLES:
        if text_col is not None:
            msg = f"--text-col reads a column of a CSV, TSV or JSONL file; {source} is read a text a line"
            raise InputError(msg)
        return SourceTexts(lines(read_source(source, encoding, "--encoding")))
    rows = _table_rows(Path(source), encoding)
    column = text_col or "text"
    if rows and column not in rows[0]:
        msg = (f"{source} has no column {column!r} (columns: {', '.join(map(str, rows[0]))}); name the one holding "
               "the texts with --text-col")
        raise InputError(msg)
    texts = []
    for n, row in enumerate(rows, start=1):
        value = row.get(column)
        if not isinstance(value, str):
            msg = f"{source}: row {n} has no text in {column!r} (got {type(value).__name__})"
            raise InputError(msg)
        texts.append(value)
    return SourceTexts(texts, [{k: v for k, v in row.items() if k} for row in rows], column)


def _table_rows(path: Path, encoding: str | None) -> list[dict[str, Any]]:
    from latentstack.data.labeled import read_table
    from latentstack.textfile import jsonl_rows, read_text

    if path.suffix.lower() != ".jsonl":
        return list(read_table(path, read_text(path, encoding, "--encoding")))
    rows = []
    for where, value in jsonl_rows(path, encoding, "--encoding"):
        if not isinstance(value, dict):
            msg = f"{where}: expected a JSON object, got {type(value).__name__}"
            raise InputError(msg)
        rows.append(value)
    return rows
