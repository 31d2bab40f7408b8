"""Embedder training pairs: sentence-transformers' and FlagEmbedding's JSONL, tables, and the errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from latentstack.data.text_pairs import TextPair, load_text_pairs
from latentstack.errors import InputError


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_sentence_transformers_rows_with_and_without_negatives(tmp_path: Path) -> None:
    rows = [{"anchor": "q1", "positive": "p1"}, {"anchor": "q2", "positive": "p2", "negative": "n2"},
            {"anchor": "q3", "positive": "p3", "negative": ["n3", "m3"], "score": 1}]
    assert load_text_pairs(_jsonl(tmp_path / "p.jsonl", rows)) == [
        TextPair("q1", "p1"), TextPair("q2", "p2", ("n2",)), TextPair("q3", "p3", ("n3", "m3"))]


def test_flagembedding_rows_give_a_pair_per_positive(tmp_path: Path) -> None:
    rows = [{"query": "q", "pos": ["a", "b"], "neg": ["n"]}, {"query": "r", "pos": "c"}]
    assert load_text_pairs(_jsonl(tmp_path / "p.jsonl", rows)) == [
        TextPair("q", "a", ("n",)), TextPair("q", "b", ("n",)), TextPair("r", "c")]


def test_a_json_array_and_a_table(tmp_path: Path) -> None:
    array = tmp_path / "p.json"
    array.write_text(json.dumps([{"anchor": "q", "positive": "p"}]), encoding="utf-8")
    assert load_text_pairs(array) == [TextPair("q", "p")]
    table = tmp_path / "p.csv"
    table.write_text('anchor,positive,negative\nq1,"p1, with a comma",\nq2,p2,n2\n', encoding="utf-8")
    assert load_text_pairs(table) == [TextPair("q1", "p1, with a comma"), TextPair("q2", "p2", ("n2",))]
    tsv = tmp_path / "p.tsv"
    tsv.write_text("anchor\tpositive\nq\tp\n", encoding="utf-8")
    assert load_text_pairs(tsv) == [TextPair("q", "p")]


@pytest.mark.parametrize(("row", "said"), [
    ({"question": "q", "answer": "a"}, "needs {'anchor', 'positive'}"),
    ({"anchor": "q", "positive": ""}, "'positive' must be a non-empty string"),
    ({"anchor": 3, "positive": "p"}, "'anchor' must be a non-empty string"),
    ({"anchor": "q", "positive": "p", "negative": 5}, "'negative' must be a string or a list of strings"),
    ({"anchor": "q", "positive": "p", "negative": ["n", ""]}, "'negative[1]' must be a non-empty string"),
    ({"query": "q", "pos": []}, "'pos' is empty"),
    (["q", "p"], "needs {'anchor', 'positive'}"),
])
def test_a_bad_row_names_its_line_and_what_was_wrong(tmp_path: Path, row: object, said: str) -> None:
    path = _jsonl(tmp_path / "p.jsonl", [{"anchor": "ok", "positive": "fine"}, row])
    with pytest.raises(InputError, match=re.escape("p.jsonl:2: ") + ".*" + re.escape(said)):
        load_text_pairs(path)


def test_a_table_row_missing_a_cell_and_an_empty_file(tmp_path: Path) -> None:
    table = tmp_path / "p.csv"
    table.write_text("anchor,positive\nq1,p1\nq2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"p.csv: row 2: 'positive' must be a non-empty string"):
        load_text_pairs(table)
    empty = tmp_path / "e.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(InputError, match="holds no pairs"):
        load_text_pairs(empty)
