"""Training pairs for an embedder: an anchor (a query), a text it should lie near (the positive), and
optionally texts it should not (hard negatives).

Read in sentence-transformers' column names, one ``{"anchor", "positive", "negative"}`` object per JSONL line
(``negative`` optional, a string or a list), in FlagEmbedding's (BGE's) ``{"query", "pos": [...], "neg": [...]}``
(each positive its own pair, the negatives shared), or as a CSV/TSV table with ``anchor`` and ``positive``
columns (and ``negative``). A file may also be one JSON array of such objects. Errors name the line and the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs

from latentstack.errors import InputError
from latentstack.textfile import json_records, read_source

FORMS = ("{'anchor', 'positive'} (sentence-transformers; 'negative' optional) or {'query', 'pos': [...]} "
         "(FlagEmbedding; 'neg' optional)")


@attrs.frozen
class TextPair:
    """An anchor, its positive, and any hard negatives."""

    anchor: str
    positive: str
    negatives: tuple[str, ...] = ()


def load_text_pairs(path: str | Path) -> list[TextPair]:
    """Every pair of ``path``; a malformed row is an InputError naming it, and a file without any pair too."""
    suffix = Path(path).suffix.lower()
    rows = _table_rows(path) if suffix in (".csv", ".tsv", ".tab") else json_records(path)
    pairs = [pair for where, row in rows for pair in to_text_pairs(row, where)]
    if not pairs:
        msg = f"{path} holds no pairs: give one {FORMS} per line"
        raise InputError(msg)
    return pairs


def to_text_pairs(row: object, where: str) -> list[TextPair]:
    """The pairs one row holds (several for a FlagEmbedding row with several positives)."""
    if isinstance(row, dict) and {"anchor", "positive"} <= row.keys():
        return [TextPair(_text(row["anchor"], "anchor", where), _text(row["positive"], "positive", where),
                         _texts(row.get("negative"), "negative", where))]
    if isinstance(row, dict) and {"query", "pos"} <= row.keys():
        query, negatives = _text(row["query"], "query", where), _texts(row.get("neg"), "neg", where)
        positives = _texts(row["pos"], "pos", where)
        if not positives:
            msg = f"{where}: 'pos' is empty: give at least one text the query should find"
            raise InputError(msg)
        return [TextPair(query, positive, negatives) for positive in positives]
    keys = f" (it has {', '.join(map(repr, sorted(row)))})" if isinstance(row, dict) else ""
    msg = f"{where}: each row needs {FORMS}{keys}"
    raise InputError(msg)


def _text(value: object, key: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        msg = f"{where}: {key!r} must be a non-empty string"
        raise InputError(msg)
    return value


def _texts(value: object, key: str, where: str) -> tuple[str, ...]:
    """None or "" as no texts, a string as one, a list of strings as they are."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(_text(item, f"{key}[{i}]", where) for i, item in enumerate(value))
    msg = f"{where}: {key!r} must be a string or a list of strings"
    raise InputError(msg)


def _table_rows(path: str | Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A CSV/TSV file's rows (numbered from 1 after the header line), each as a dict of its header's columns."""
    from latentstack.data.labeled import read_table

    for n, row in enumerate(read_table(Path(path), read_source(path)), start=1):
        yield f"{path}: row {n}", {k: v for k, v in row.items() if k is not None}
