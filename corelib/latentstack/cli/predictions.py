"""``classify predict``'s texts (given, a file's lines, or a table's text column) and its results: one record
per text, printed (``--json``) or written to ``--out`` (CSV or JSONL).

A CSV holds a table row's fields, the text, ``predicted`` and ``probability`` (that of the
label predicted), so a table of messages comes back as the same table labeled; JSONL holds
the ``--json`` objects (every class's probability). A multi-label classifier's record holds
``labels``, a list, where another's holds ``label``; its CSV cells join the labels, and
their probabilities, with ``|``. The file is written atomically, and
never over the input, a folder or a file of another kind.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import attrs

from latentstack.errors import InputError
from latentstack.outfile import check_out_file, jsonl_with

ADDED = ("predicted", "probability")  # the columns a CSV gains


def check_out(out: Path, source: str | None) -> None:
    """Refuse, before the classifier loads, an --out that is not .csv or .jsonl or that would replace another file."""
    if out.suffix.lower() not in (".csv", ".jsonl"):
        msg = f"--out {out}: predictions are written as .csv or .jsonl; give a name ending in one of them"
        raise InputError(msg)
    ours = jsonl_with({"text", "proba"}) if out.suffix.lower() == ".jsonl" else _predictions_csv
    check_out_file(out, "predictions", ours, inputs=[source] if source and source != "-" else [])


def records(texts: list[str], labels: list[Any], proba: Any, fields: list[dict[str, Any]],
            classes: list[Any]) -> list[dict[str, Any]]:
    """The --json objects: text, label (``labels``, a list, where multi-label), every class's probability, and a
    table row's other fields."""
    return [{"text": text, ("labels" if isinstance(label, list) else "label"): label,
             "proba": {str(c): round(float(p), 4) for c, p in zip(classes, row, strict=True)},
             **({"fields": other} if other else {})}
            for text, label, row, other in zip(texts, labels, proba, fields, strict=True)]


def line(record: dict[str, Any], proba: Any) -> str:
    """A record as a line of text: label, its probability, text; several labels comma-separated with theirs
    ("-" and the highest probability where no label reaches its threshold)."""
    if "label" in record:
        return f"{record['label']}\t{float(proba.max()):.3f}\t{record['text']}"
    labels = record["labels"]
    if not labels:
        return f"-\t{float(proba.max()):.3f}\t{record['text']}"
    chances = ",".join(f"{record['proba'][str(x)]:.3f}" for x in labels)
    return f"{','.join(map(str, labels))}\t{chances}\t{record['text']}"


@attrs.frozen
class Batch:
    """The texts to label, each one's other fields (a table row's), and the table's whole rows (None: no table)."""

    texts: list[str]
    fields: list[dict[str, Any]]
    table: list[dict[str, Any]] | None


def gather(texts: tuple[str, ...], source: str | None, text_col: str | None, encoding: str | None = None) -> Batch:
    """The texts given, then those of ``source`` (decoded as ``encoding``): its lines (blank ones skipped) or a
    table's text column."""
    from latentstack.data.source_texts import source_texts

    fields: list[dict[str, Any]] = [{} for _ in texts]
    if not source:
        return Batch(list(texts), fields, None)
    read = source_texts(source, text_col, encoding)
    kept = [i for i, t in enumerate(read.texts) if read.rows is not None or t.strip()]
    table = None if read.rows is None else [{read.column: t} for t in texts] + read.rows
    return Batch([*texts, *(read.texts[i] for i in kept)], fields + [read.fields(i) for i in kept], table)


def check_columns(out: Path, source: str, table: list[dict[str, Any]]) -> None:
    """Refuse, before the classifier loads, a CSV --out whose input table already has a column it would add."""
    header = list(dict.fromkeys(k for row in table for k in row))
    clash = [c for c in ADDED if c in header]
    if clash and out.suffix.lower() == ".csv":
        msg = f"{source} already has a column {clash[0]!r}, which the CSV written adds: write .jsonl instead"
        raise InputError(msg)


def write(out: Path, records: list[dict[str, Any]], table: list[dict[str, Any]] | None) -> None:
    """``records`` to ``out``, atomically: JSONL as they are, or a CSV of the input ``table``'s rows (each text
    alone when it was no table) with ``predicted`` and ``probability`` added."""
    from latentstack.atomic import atomic_file

    if out.suffix.lower() == ".jsonl":
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    else:
        body = _csv(records, table or [{"text": r["text"]} for r in records])
    with atomic_file(out) as tmp:
        Path(tmp).write_text(body, encoding="utf-8")


def _csv(records: list[dict[str, Any]], table: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(k for row in sorted(table, key=len, reverse=True) for k in row))  # a whole row's order
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*columns, *ADDED])
    for row, r in zip(table, records, strict=True):
        writer.writerow([_cell(row.get(k)) for k in columns] + _predicted(r))
    return buffer.getvalue()


def _predicted(record: dict[str, Any]) -> list[Any]:
    """The CSV's ``predicted`` and ``probability`` cells: the label and its probability, or the labels and
    theirs joined by ``|``."""
    if "label" in record:
        return [record["label"], record["proba"][str(record["label"])]]
    labels = record["labels"]
    return ["|".join(map(str, labels)), "|".join(str(record["proba"][str(x)]) for x in labels)]


def _cell(value: Any) -> Any:
    return "" if value is None else json.dumps(value) if isinstance(value, dict | list) else value


def _predictions_csv(path: Path) -> bool:
    """A test for ``check_out_file``: the file is a CSV whose header ends with the columns this module adds."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, ValueError):
        return False
    return tuple(header[-2:]) == ADDED
