"""Labeled text data: TSV, CSV or JSONL with a split, a label and a text column.

Rows without a split column count as ``train``, or are split into ``train`` and ``test``
by ``holdout`` (stratified, seeded). A text may carry several labels (multi-label): a JSON
list in JSONL, a cell split on ``label_sep`` in a table, or a 0/1 column per label
(``label_cols``, Kaggle's toxic-comment form); such a file's labels are lists. A table
without a header line (the UCI SMS Spam Collection's ``label<TAB>text``) is read with its
``columns`` named. Errors name the file, the row and the fix; nothing is guessed silently.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from latentstack.errors import InputError
from latentstack.textfile import lines, read_text


@attrs.frozen
class Labeled:
    """Texts and labels of one split: one label per text, or a list of labels per text (multi-label)."""

    texts: list[str]
    labels: list[Any]

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def multi_label(self) -> bool:
        """Whether each text holds a list of labels."""
        return is_multi_label(self.labels)


def _rows(path: Path, columns: tuple[str, ...] | None, encoding: str | None) -> list[dict[str, Any]]:
    raw = read_text(path, encoding, "--encoding")
    if path.suffix == ".jsonl":
        if columns:
            msg = f"{path} is JSONL, whose rows name their own fields: leave --columns out"
            raise InputError(msg)
        rows = []
        for n, line in enumerate(lines(raw), start=1):
            if line.strip():
                try:
                    rows.append(dict(json.loads(line).items()))  # values as written: _cell reads the ones used
                except (ValueError, AttributeError) as exc:
                    msg = f"{path}:{n} is not a JSON object ({exc})"
                    raise InputError(msg) from exc
        return rows
    return read_table(path, raw, columns)


def read_table(path: Path, raw: str, columns: tuple[str, ...] | None = None) -> list[dict[str, str]]:
    """CSV (quoted fields may hold line ends) or TSV (no quoting) rows; a broken quote names its line.

    TSV is a ``.tsv`` or ``.tab`` file, or one whose first line holds a tab; a CSV whose first
    line holds semicolons and no comma is read with ``;`` (Excel's CSV where the decimal mark is
    a comma). With ``columns`` the file has no header line: its first line is data.
    """
    first = raw.split("\n", 1)[0]
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") or "\t" in first else \
        ";" if ";" in first and "," not in first else ","
    csv.field_size_limit(10_000_000)
    reader = csv.DictReader(io.StringIO(raw, newline=""), fieldnames=columns, delimiter=delimiter, strict=True,
                            quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL)
    rows: list[dict[str, str]] = []
    start = 1
    try:
        _ = reader.fieldnames  # reads the header line
        start = reader.line_num + 1
        for row in reader:
            rows.append(row)
            start = reader.line_num + 1
    except csv.Error as exc:
        quotes = '"' in str(exc) or "end of data" in str(exc)
        fix = ': a quoted field must end with a quote, and a quote inside one is written twice ("")' if quotes else ""
        kind = "TSV" if delimiter == "\t" else "CSV"
        msg = f"{path}: the row from line {start} is not valid {kind} ({exc}){fix}"
        raise InputError(msg) from exc
    return rows


def load_labeled(path: str | Path, *, text_col: str = "text", label_col: str = "label", split_col: str = "split",
                 columns: tuple[str, ...] | None = None, holdout: float | None = None, seed: int = 0,
                 encoding: str | None = None, label_sep: str | None = None,
                 label_cols: tuple[str, ...] | None = None) -> dict[str, Labeled]:
    """Read a labeled file into {split: Labeled}; a missing column is a clear error.

    ``columns`` names the columns of a table without a header line. ``holdout`` (a
    fraction between 0 and 1) splits a file without a split column into ``train`` and
    ``test``, each class in that proportion, the same rows for the same ``seed``. ``encoding``
    reads a file that is not UTF-8 (Kaggle's spam.csv is latin1). ``label_sep`` splits each label cell into
    several labels (``"billing|refund"``), as a JSONL file's list labels are read: every text then holds a
    list, empty where a cell is. ``label_cols`` names a column per label holding 1 or 0 (true/false,
    yes/no): each text's labels are those whose column holds 1.
    """
    path = Path(path)
    rows = _rows(path, columns, encoding)
    if not rows:
        msg = f"{path} has no data rows"
        raise InputError(msg)
    if columns:
        _check_headless(path, rows, columns)
    found = set(rows[0])
    wanted = [(text_col, "--text-col"), *([(c, "--label-cols") for c in label_cols] if label_cols else
                                          [(label_col, "--label-col")])]
    if label_cols and label_sep is not None:
        msg = "--label-cols reads a 0/1 column per label, --label-sep a column of labels: give one of the two"
        raise InputError(msg)
    for col, opt in wanted:
        if col not in found:
            headless = "" if columns else " (a file without a header line: name its columns with --columns, e.g. label,text)"
            msg = f"{path} has no column {col!r} (columns: {', '.join(sorted(found))}); name it with {opt}{headless}"
            raise InputError(msg)
    if holdout is not None and split_col in found:
        msg = (f"{path} has a {split_col!r} column, so its splits are given: choose one with --split, "
               "or leave --holdout out")
        raise InputError(msg)
    first = 1 if columns or path.suffix == ".jsonl" else 2  # a header line is line 1; JSONL has none
    if label_sep is not None and (not label_sep or label_sep.isspace()):
        msg = f"--label-sep {label_sep!r} cannot split labels: give a character such as '|' or ';'"
        raise InputError(msg)
    splits = _split_rows(path, rows, (text_col, label_cols or label_col, split_col), first, label_sep)
    return splits if holdout is None else _hold_out(splits["train"], holdout, seed, path)


def _hold_out(part: Labeled, fraction: float, seed: int, path: Path) -> dict[str, Labeled]:
    """``part`` as {"train", "test"}: ``fraction`` of each class held out as ``test`` (``holdout.held_rows``)."""
    from latentstack.data.holdout import held_label_sets, held_rows

    held = held_label_sets(part.labels, fraction, seed) if part.multi_label else held_rows(part.labels, fraction, seed)
    if not held:
        msg = (f"{path} has too few rows for a held-out share of {fraction}: no class would keep a row out of "
               "training; hold out more, or give a file with a split column")
        raise InputError(msg)
    return {name: Labeled([t for i, t in enumerate(part.texts) if (i in held) == want],
                          [x for i, x in enumerate(part.labels) if (i in held) == want])
            for name, want in (("train", False), ("test", True))}


def _check_headless(path: Path, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    """Refuse --columns on a file whose first line is a header (it would be read as a row of data)."""
    if [(rows[0].get(c) or "").strip().lower() for c in columns] == [c.lower() for c in columns]:
        msg = f"{path}'s first line is a header ({', '.join(columns)}): leave --columns out"
        raise InputError(msg)


def _cell(row: dict[str, Any], col: str, where: str) -> str | None:
    """A row's field as text: a JSONL number as written, null as missing; a list or an object is an error (a
    list of labels was read as one class named "['a', 'b']")."""
    value = row.get(col)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list | dict):
        msg = f"{where}: its {col!r} is a JSON {type(value).__name__}, not text"
        raise InputError(msg)
    return str(value)


def _label(row: dict[str, Any], col: str, where: str, sep: str | None) -> str | list[str] | None:
    """A row's label: text, or a list of labels (a JSON list, or a cell split on ``sep``)."""
    value = row.get(col)
    if isinstance(value, list):
        bad = [x for x in value if not isinstance(x, str | int) or isinstance(x, bool) or not str(x).strip()]
        if bad:
            msg = f"{where}: its {col!r} list holds {json.dumps(bad[0])}: each label is a non-empty text or number"
            raise InputError(msg)
        return list(dict.fromkeys(str(x).strip() for x in value))
    label = _cell(row, col, where)
    if sep is None or label is None:
        return label
    return list(dict.fromkeys(p.strip() for p in label.split(sep) if p.strip()))


def _flags(row: dict[str, Any], cols: tuple[str, ...], where: str) -> list[str]:
    """The names of ``cols`` whose cell holds 1 (true, yes); 0 (false, no) or an empty cell is no label."""
    out = []
    for col in cols:
        value = row.get(col)
        word = str(value).strip().lower() if value is not None else ""
        if word not in ("1", "1.0", "true", "yes", "0", "0.0", "false", "no", ""):
            msg = f"{where}: its {col!r} is {value!r}; a label's own column holds 1 or 0 (true/false, yes/no)"
            raise InputError(msg)
        if word in ("1", "1.0", "true", "yes"):
            out.append(col)
    return out


def _split_rows(path: Path, rows: list[dict[str, Any]], cols: tuple[str, str | tuple[str, ...], str], first: int,
                sep: str | None = None) -> dict[str, Labeled]:
    """{split: Labeled} from the rows (numbered from ``first`` in errors); when a label is a list, every
    text's is (a lone text label as a list of one). A tuple of label columns gives each its 0/1 column."""
    text_col, label_col, split_col = cols
    splits: dict[str, tuple[list[str], list[Any]]] = {}
    for n, row in enumerate(rows, start=first):
        where = f"{path}: row {n}"
        text = _cell(row, text_col, where)
        label = _flags(row, label_col, where) if isinstance(label_col, tuple) else _label(row, label_col, where, sep)
        no_label = label is None or (isinstance(label, str) and not label.strip())
        if text is None or no_label:
            msg = f"{path}: row {n} has no {label_col if no_label else text_col}"
            raise InputError(msg)
        texts, labels = splits.setdefault((_cell(row, split_col, where) or "train").strip(), ([], []))
        texts.append(text)
        labels.append(label if isinstance(label, list) else str(label).strip())
    several = any(isinstance(x, list) for _, labels in splits.values() for x in labels)
    return {name: Labeled(t, [x if isinstance(x, list) else [x] for x in lab] if several else lab)
            for name, (t, lab) in splits.items()}


def is_multi_label(labels: Iterable[Any]) -> bool:
    """Whether ``labels`` gives each text a collection of labels (a list, tuple or set) rather than one."""
    return (isinstance(labels, Iterable) and not isinstance(labels, str)
            and any(isinstance(x, list | tuple | set | frozenset) for x in labels))


def read_labels(labels: Any) -> tuple[Any, bool]:
    """``labels`` as a list (a generator read once; anything else as given, for ``normalize_labels`` to refuse),
    and whether each text has a list of labels (multi-label)."""
    given = list(labels) if isinstance(labels, Iterable) and not isinstance(labels, str) else labels
    return given, is_multi_label(given)


def normalize_label_sets(labels: Iterable[Any]) -> list[list[Any]]:
    """Each text's labels as a sorted list without repeats (a lone label as a list of one, an empty list for
    none), all of one type as ``normalize_labels`` requires."""
    rows = [list(x) if isinstance(x, list | tuple | set | frozenset) else [x] for x in labels]
    flat = [x for row in rows for x in row]
    if is_multi_label(flat) or any(isinstance(x, dict) for x in flat):
        msg = "a text's labels hold a list or a mapping: give each text a list of labels, each text or a whole number"
        raise InputError(msg)
    flat = normalize_labels(flat)
    it = iter(flat)
    return [sorted({next(it) for _ in row}) for row in rows]


def normalize_labels(labels: Iterable[Any]) -> list[Any]:
    """Labels of one consistent type: all text, or all whole numbers (1.0 is 1, so it is one class with 1).

    Mixed text and numbers, fractional or boolean labels, and None are an InputError, and so is one str
    (``"spam"`` would be the labels s, p, a, m).
    """
    if isinstance(labels, str) or not isinstance(labels, Iterable):
        msg = f"labels must be a list, one per text, got {type(labels).__name__}"
        raise InputError(msg)
    import numpy as np

    out = [x.item() if isinstance(x, np.generic) else x for x in labels]  # a NumPy array's labels as Python's
    if is_multi_label(out):
        msg = ("a label is a list (several labels per text): this classifier learns one label per text; the linear "
               "and finetune classifiers learn several (--method linear or finetune)")
        raise InputError(msg)
    numbers = [x for x in out if isinstance(x, int | float) and not isinstance(x, bool)]
    texts = [x for x in out if isinstance(x, str)]
    if len(numbers) + len(texts) != len(out):
        bad = next(x for x in out if not (isinstance(x, str | int | float) and not isinstance(x, bool)))
        msg = f"a label is {bad!r}: labels must be text or whole numbers"
        raise InputError(msg)
    if numbers and texts:
        msg = f"labels mix text and numbers (e.g. {texts[0]!r} and {numbers[0]!r}): give every label the same type"
        raise InputError(msg)
    if any(isinstance(x, float) and not x.is_integer() for x in numbers):
        msg = "a label is a fraction: labels are classes, give whole numbers or text"
        raise InputError(msg)
    return [int(x) for x in out] if numbers else out


def check_labels(labels: list[str]) -> list[str]:
    """The sorted classes; fewer than two is an error."""
    classes = sorted(set(labels))
    if len(classes) < 2:
        msg = f"the labels hold {len(classes)} class ({', '.join(classes) or 'none'}); a classifier needs at least two"
        raise InputError(msg)
    return classes


def label_indicators(labels: Iterable[Any]) -> tuple[list[Any], Any]:
    """The classes of texts' label lists (sorted) and which texts hold each, as a texts x classes 0/1 array; no
    label at all, or a label on every text (nothing shows when it is absent), is an error."""
    import numpy as np

    label_sets = normalize_label_sets(labels)
    classes = sorted({x for row in label_sets for x in row})
    if not classes:
        msg = "no text holds a label: give each text the labels it has (a list, empty where none)"
        raise InputError(msg)
    column = {c: k for k, c in enumerate(classes)}
    y = np.zeros((len(label_sets), len(classes)), dtype=np.int64)
    for i, row in enumerate(label_sets):
        y[i, [column[x] for x in row]] = 1
    everywhere = [str(c) for c, n in zip(classes, y.sum(axis=0), strict=True) if n == len(label_sets)]
    if everywhere:
        msg = (f"label {everywhere[0]!r} is on every training text, so nothing shows when it is absent: "
               "drop it, or add texts without it")
        raise InputError(msg)
    return classes, y
