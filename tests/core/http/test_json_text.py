"""A JSON string read as it is written: each piece handed out is final, whatever the cut between pieces (an escape,
a surrogate pair), and the string ends at its closing quote."""

from __future__ import annotations

import json

import pytest

from latentstack.http.json_text import StringReader, string_body

TEXT = 'a "quoted" word, a \\ backslash,\na new line, é and 😀, then the end'


@pytest.mark.parametrize("ascii_only", [False, True])
@pytest.mark.parametrize("step", [1, 2, 3, 7])
def test_pieces_join_to_the_string_whatever_the_cuts(ascii_only: bool, step: int) -> None:
    raw = json.dumps(TEXT, ensure_ascii=ascii_only)[1:] + "}"  # the body after the opening quote, then the object closes
    reader, pieces = StringReader(), []
    for end in range(step, len(raw) + step, step):
        pieces.append(reader.read(raw[:end]))
    assert "".join(pieces) == TEXT
    assert not any("\ud800" <= c <= "\udfff" for p in pieces for c in p)  # no half of a surrogate pair alone


def test_the_body_ends_at_the_first_unescaped_quote() -> None:
    assert string_body('say \\"hi\\"" and more') == ('say \\"hi\\"', True)
    assert string_body("a \\\\") == ("a \\\\", False)
    assert StringReader().read("cut at \\u00") == "cut at "
    assert StringReader().read("cut at \\") == "cut at "
    assert StringReader().read("kept \\\\") == "kept \\"
