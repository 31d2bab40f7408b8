"""Reading users' text files: UTF-8 with or without a BOM, anything else a clear error with the fix."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from latentstack.errors import InputError
from latentstack.textfile import jsonl_rows, lines, lone_surrogate, read_text

TEXT = "naïve café\nzweite Zeile\n"


def test_utf8_with_and_without_bom(tmp_path: Path) -> None:
    plain, bom = tmp_path / "plain.txt", tmp_path / "bom.txt"
    plain.write_bytes(TEXT.encode("utf-8"))
    bom.write_bytes(codecs.BOM_UTF8 + TEXT.encode("utf-8"))
    assert read_text(plain) == read_text(bom) == TEXT


@pytest.mark.parametrize(("encoding", "named"), [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"),
                                                 ("utf-32", "UTF-32")])
def test_byte_order_mark_names_the_encoding_and_the_iconv_fix(tmp_path: Path, encoding: str, named: str) -> None:
    path = tmp_path / "wide.txt"
    data = TEXT.encode(encoding)
    if encoding == "utf-16-be":  # Python writes no BOM for an explicit byte order
        data = codecs.BOM_UTF16_BE + data
    path.write_bytes(data)
    with pytest.raises(InputError, match=f"{named} byte order mark") as err:
        read_text(path)
    assert f"iconv -f {named.lower()} -t utf-8 {path} > wide.utf8.txt" in str(err.value)
    assert "guess" not in str(err.value)


def test_other_bytes_name_the_offset_and_say_the_latin1_fix_is_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "latin.tsv"
    path.write_bytes(TEXT.encode("latin-1"))
    with pytest.raises(InputError, match=r"byte 2 is b'\\xef'") as err:
        read_text(path)
    assert "iconv -f latin1 -t utf-8" in str(err.value) and "guess" in str(err.value)


def test_missing_file_and_folder_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read .*nope.txt"):
        read_text(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="cannot read"):
        read_text(tmp_path)


def test_lines_split_at_line_ends_only() -> None:
    """\\n, \\r\\n and \\r end a line; a form feed, U+2028 or NEL inside one does not (str.splitlines splits at them)."""
    assert lines("a\x0cb\r\nc\u2028d\re\x85f\n\ng\n") == ["a\x0cb", "c\u2028d", "e\x85f", "", "g"]
    assert lines("no end") == ["no end"] and lines("") == [] and lines("\n") == [""]


def test_a_lone_surrogate_is_named_and_a_pair_is_text(tmp_path: Path) -> None:
    """JSON lets a \\ud83d escape without its other half through as a str no tokenizer or database takes: the
    JSONL readers name its line; a whole pair (an emoji) is read as the one character it is."""
    assert lone_surrogate("cut \ud83d emoji") == "U+D83D at character 4" and lone_surrogate("whole \U0001f600") is None
    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "smile \\ud83d\\ude00"}\n', encoding="utf-8")
    assert [row for _, row in jsonl_rows(good)] == [{"text": "smile \U0001f600"}]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n\n{"meta": {"\\udc80": 1}, "text": "x"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.jsonl:3: a string holds U\+DC80, half of a UTF-16 surrogate pair"):
        list(jsonl_rows(bad))
