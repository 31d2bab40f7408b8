"""Metadata kept once for the items that share a mapping: copies, and the saved form."""

from __future__ import annotations

import json

import pytest

from latentstack.metadata_rows import pack, shared_copies, unpack


def test_a_mapping_given_for_many_items_is_copied_once() -> None:
    """A document's passages share one copy, made from the caller's mapping (changing that later changes none)."""
    doc, other = {"source": "a.md", "tags": ["x"]}, {"source": "b.md"}
    rows = shared_copies([doc, doc, other, doc, {}])
    assert rows[0] is rows[1] is rows[3] and rows[2] is not rows[0] and rows[0] is not doc
    doc["source"] = "changed"
    assert rows == [{"source": "a.md", "tags": ["x"]}] * 2 + [other, {"source": "a.md", "tags": ["x"]}, {}]


def test_packed_rows_read_back_equal_and_shared() -> None:
    """The saved form holds each distinct mapping once; read back, the items that shared one share it again."""
    doc, other = {"source": "a.md", "year": 2020}, {"source": "b.md"}
    packed = json.loads(json.dumps(pack([doc, doc, other, doc])))
    assert packed == {"values": [doc, other], "of": [0, 0, 1, 0]}
    rows = unpack(packed, 4)
    assert rows == [doc, doc, other, doc] and rows[0] is rows[1] is rows[3]


@pytest.mark.parametrize(("packed", "n", "message"), [
    ({"values": [{}], "of": [0, 0]}, 3, "holds 2 rows, not 3"),
    ({"values": [{}]}, 1, "holds no rows, not 1"),
    ({"values": [{}], "of": [1]}, 1, "point outside its values"),
    ({"values": [{}], "of": [-1]}, 1, "point outside its values"),
    ({"values": [{}], "of": ["0"]}, 1, "point outside its values"),
    ({"values": [[]], "of": [0]}, 1, "point outside its values"),
])
def test_a_damaged_saved_form_is_a_value_error(packed: dict, n: int, message: str) -> None:
    """Rows that do not match their count or their values are an error (a loader's CorruptFileError)."""
    with pytest.raises(ValueError, match=message):
        unpack(packed, n)
