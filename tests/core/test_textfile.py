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


def test_a_given_encoding_reads_the_files_that_are_not_utf8(tmp_path: Path) -> None:
    """``--encoding latin1`` for a folder of UTF-8 notes with a few latin1 ones read every note as latin1, which
    decodes any bytes: each accent of the UTF-8 notes became two characters ("cafÃ©"). UTF-8 text is read as UTF-8
    (with or without its BOM); the others as the encoding given; UTF-16 without a BOM (NUL bytes) as given too."""
    utf8, bom, latin, wide = (tmp_path / name for name in ("utf8.txt", "bom.txt", "latin.txt", "wide.txt"))
    utf8.write_bytes("café naïve".encode())
    bom.write_bytes(codecs.BOM_UTF8 + "café".encode())
    latin.write_bytes("café naïve".encode("latin-1"))
    wide.write_bytes("plain words".encode("utf-16-le"))
    assert [read_text(p, "latin1") for p in (utf8, bom, latin)] == ["café naïve", "café", "café naïve"]
    assert read_text(wide, "utf-16-le") == "plain words"
