"""The options that say how to read a labeled file, shared by ``classify`` and the classification bench suites."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from latentstack.errors import InputError

READING = ("text_col", "label_col", "split_col", "columns", "encoding", "holdout", "label_sep", "label_cols")  # what labeled_options passes on
_DEFAULTS = {"text_col": "text", "label_col": "label", "split_col": "split"}


def labeled_options(fn: Any) -> Any:
    """--text-col, --label-col, --split-col, --columns, --encoding, --holdout, --label-sep and --label-cols, passed
    on as keyword arguments."""
    for opt in reversed([
        click.option("--text-col", default="text", show_default=True),
        click.option("--label-col", default="label", show_default=True),
        click.option("--split-col", default="split", show_default=True),
        click.option("--columns", default=None, metavar="NAMES",
                     help="The file has no header line: its columns' names, comma-separated (e.g. label,text)."),
        click.option("--encoding", default=None,
                     help="The file's encoding when it is not UTF-8 (e.g. latin1, cp1252, utf-16): a UTF-8 "
                          "file is still read as UTF-8."),
        click.option("--holdout", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
                     help="The file has no split column: hold out this share of each class as the 'test' split "
                          "(seeded by --seed)."),
        click.option("--label-sep", default=None, metavar="SEP",
                     help="Each label cell holds several labels split by SEP (e.g. '|'): train one classifier "
                          "that gives each text all its labels (multi-label; JSONL lists of labels need no SEP)."),
        click.option("--label-cols", default=None, metavar="NAMES",
                     help="Each label has a column of its own holding 1 or 0 (e.g. toxic,obscene,insult): train one "
                          "multi-label classifier on them, comma-separated."),
    ]):
        fn = opt(fn)
    return fn


def read_splits(data: str, wanted: Sequence[str], seed: int, **options: Any) -> dict[str, Any]:
    """The file's splits as ``labeled_options`` ask (``--holdout`` draws train and test); each of ``wanted`` must be one."""
    from latentstack.data.labeled import load_labeled
    from latentstack.interfaces.base import names

    columns, label_cols = options.pop("columns", None), options.pop("label_cols", None)
    splits = load_labeled(data, **options, columns=names(columns) if columns else None, seed=seed,
                          label_cols=names(label_cols) if label_cols else None)
    for name in wanted:
        if name not in splits:
            msg = f"{data} has no split {name!r} (splits: {', '.join(sorted(splits))})"
            raise InputError(msg)
    return splits


def reading_flags(reading: dict[str, Any]) -> list[str]:
    """The command-line flags that read the file as ``reading`` (labeled_options' values) does: those not at default."""
    return [x for key in READING if reading.get(key) not in (None, _DEFAULTS.get(key))
            for x in (f"--{key.replace('_', '-')}", str(reading[key]))]
