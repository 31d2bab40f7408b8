"""Labeled data files: TSV, CSV, JSONL, and every way they can be wrong."""

from __future__ import annotations

import pytest

from latentstack.data.labeled import check_labels, load_labeled
from latentstack.errors import InputError

from ...conftest import ROOT


def test_sms_tsv() -> None:
    """The vendored SMS file reads into its fixed splits."""
    splits = load_labeled(ROOT / "benchmarks" / "data" / "sms-spam.tsv")
    assert len(splits["train"]) == 3814 and len(splits["test"]) == 985
    assert splits["test"].labels.count("spam") == 134


def test_csv_jsonl_and_custom_columns(tmp_path) -> None:  # noqa: ANN001
    """CSV with quoted commas, JSONL, and other column names via arguments."""
    (tmp_path / "d.csv").write_text('split,y,body\ntrain,a,"hello, world"\ntest,b,bye\n')
    splits = load_labeled(tmp_path / "d.csv", text_col="body", label_col="y")
    assert splits["train"].texts == ["hello, world"] and splits["test"].labels == ["b"]
    (tmp_path / "d.jsonl").write_text('{"label": "x", "text": "one"}\n{"label": "y", "text": "two"}\n')
    assert load_labeled(tmp_path / "d.jsonl")["train"].labels == ["x", "y"]


def test_missing_column_names_the_option(tmp_path) -> None:  # noqa: ANN001
    """A file without the text column says which columns exist and which option to use."""
    (tmp_path / "d.tsv").write_text("split\tlabel\tmessage\ntrain\ta\thi\n")
    with pytest.raises(InputError, match="no column 'text'.*message.*--text-col"):
        load_labeled(tmp_path / "d.tsv")


def test_non_utf8_and_empty(tmp_path) -> None:  # noqa: ANN001
    """Latin-1 bytes and an empty file are clear errors."""
    (tmp_path / "l.tsv").write_bytes("label\ttext\na\tcaf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        load_labeled(tmp_path / "l.tsv")
    (tmp_path / "e.tsv").write_text("label\ttext\n")
    with pytest.raises(InputError, match="no data rows"):
        load_labeled(tmp_path / "e.tsv")


def test_one_class_is_refused() -> None:
    """A label column with one class cannot train a classifier."""
    with pytest.raises(InputError, match="1 class.*at least two"):
        check_labels(["spam", "spam"])
