"""Reading a user's text file: UTF-8 (with or without a BOM), or a clear error that says how to convert it."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path

from latentstack.errors import InputError

# Longest first: a UTF-32 LE BOM starts with the UTF-16 LE one.
_BOMS = [(codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16")]


def read_text(path: str | Path, encoding: str | None = None, option: str = "") -> str:
    """The file's text, decoded as UTF-8 (a UTF-8 BOM is dropped), or as ``encoding`` when given and it is not
    UTF-8 (see ``_decode_as``).

    A file that is not UTF-8, cannot be read or does not exist raises InputError naming
    the file, where decoding failed, the encoding it looks like (a UTF-16 or UTF-32 byte
    order mark) and the ``iconv`` command that converts it; ``option`` (``--encoding``)
    is named too where the command has one.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or exc}"
        raise InputError(msg) from exc
    if encoding:
        return _decode_as(path, raw, encoding)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        source = next((name for bom, name in _BOMS if raw.startswith(bom)), None)
        if source is None and looks_binary(raw):
            given = f"; if it is UTF-16 text without a byte order mark, give {option} utf-16" if option else ""
            msg = (f"{path} is not a text file (it holds NUL bytes, as a PDF, an image or a Word file does): convert "
                   f"it to text first, e.g. `pdftotext {path}`{given}")
            raise InputError(msg) from exc
        found = f"it starts with a {source.upper()} byte order mark" if source else bad_byte(exc)
        fix = f"iconv -f {source or 'latin1'} -t utf-8 {path} > {path.stem}.utf8{path.suffix}"
        given = f"give {option} {source or 'latin1'}, or " if option else ""
        guess = "" if source else " (latin1 is a guess: use the encoding the file was written in)"
        msg = f"{path} is not UTF-8 ({found}); {given}convert it first, e.g. `{fix}`{guess}"
        raise InputError(msg) from exc


def looks_binary(head: bytes) -> bool:
    """Whether bytes read from a file's start hold a NUL in their first 8 KiB and no UTF-16/32 byte order mark:
    text never does, a PDF, an image, an archive or an office file nearly always does."""
    return b"\0" in head[:8192] and not any(head.startswith(bom) for bom, _ in _BOMS)


def _decode_as(path: Path, raw: bytes, encoding: str) -> str:
    """``raw`` decoded as ``encoding`` (an unknown name, or bytes that are not that encoding, an InputError), unless
    it is UTF-8 text: bytes in another encoding all but never decode as UTF-8 by chance, while latin1 or cp1252
    decode any bytes, so a folder of UTF-8 notes with a few latin1 ones read as latin1 garbled every accent of
    the others ("cafÃ©"). Bytes with a NUL (UTF-16 or UTF-32 without a byte order mark) are never taken as UTF-8."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError as exc:
        msg = f"unknown encoding {encoding!r}: give a name Python knows, e.g. utf-8, latin1, cp1252, utf-16"
        raise InputError(msg) from exc
    if b"\0" not in raw:
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        msg = f"{path} is not {encoding} ({bad_byte(exc)}): give the encoding the file was written in"
        raise InputError(msg) from exc
    return text.removeprefix("\ufeff")


def bad_byte(exc: UnicodeDecodeError) -> str:
    """``byte 3 is b'\\xe9'``: where UTF-8 decoding failed, and the byte found there."""
    return f"byte {exc.start} is {exc.object[exc.start:exc.start + 1]!r}"


def read_stdin(encoding: str | None = None, option: str = "") -> str:
    """The text piped to standard input, decoded as UTF-8 (a BOM dropped) or as ``encoding``, or InputError saying
    how to convert it (``option`` named where the command has one)."""
    import sys

    raw = sys.stdin.buffer.read()
    if encoding:
        return _decode_as(Path("standard input"), raw, encoding)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        given = f"give {option} latin1, or " if option else ""
        msg = (f"the text on standard input is not UTF-8 ({bad_byte(exc)}); "
               f"{given}convert it first, e.g. pipe it through `iconv -f latin1 -t utf-8` (latin1 is a guess: use the "
               "encoding it was written in)")
        raise InputError(msg) from exc


def read_source(source: str | Path, encoding: str | None = None, option: str = "") -> str:
    """A ``--from`` argument's text: the file's, or standard input's for ``-`` (see ``read_text``)."""
    return read_stdin(encoding, option) if str(source) == "-" else read_text(source, encoding, option)


_NEWLINE = re.compile(r"\r\n|\r|\n")


def lines(text: str) -> list[str]:
    """``text`` split at its line ends (``\\n``, ``\\r\\n`` or ``\\r``) only, as a file is read line by line.

    ``str.splitlines`` also splits at form feeds, U+2028 and other separators that may stand
    inside one line's text (a PDF's page break, a JSON string written without ASCII escapes).
    """
    parts = _NEWLINE.split(text)
    return parts[:-1] if parts[-1] == "" else parts


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")
#: What a lone surrogate is, where one comes from, and what to do; after "holds U+XXXX".
SURROGATE_HELP = ("half of a UTF-16 surrogate pair, which is not text (an emoji cut in two before it was written as JSON, "
                  "or bytes decoded with errors='surrogateescape'): remove it, or decode the source with errors='replace'")


def lone_surrogate(text: str) -> str | None:
    """``"U+D83D at character 13"`` for the first lone surrogate in ``text``; None where it is valid Unicode.

    Such a code point cannot be written as UTF-8, so no tokenizer, database or file takes it.
    """
    found = None if text.isascii() else _SURROGATE.search(text)
    return f"U+{ord(found.group()):04X} at character {found.start()}" if found else None


def json_surrogate(raw: str | bytes, value: object) -> str | None:
    """``"U+D83D"`` where ``value``, parsed from the JSON text ``raw``, holds a lone surrogate (a ``\\ud83d``
    escape without its other half, which ``json.loads`` lets through); None otherwise."""
    escaped = _SURROGATE_ESCAPE.search(raw) if isinstance(raw, str) else _SURROGATE_ESCAPE_BYTES.search(raw)
    found = next((where for where in map(lone_surrogate, _strings(value)) if where), None) if escaped else None
    return found.split(" at ")[0] if found else None


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def jsonl_rows(path: str | Path, encoding: str | None = None, option: str = "") -> Iterator[tuple[str, object]]:
    """Each non-blank line of a JSONL file as (``path:line``, the parsed value); see ``jsonl_lines``."""
    for n, value in jsonl_lines(path, encoding, option):
        yield f"{path}:{n}", value


def json_records(path: str | Path) -> Iterator[tuple[str, object]]:
    """Each record of a JSONL file as ``jsonl_rows`` gives it, or of a file holding one JSON array of them (as
    Alpaca's ``alpaca_data.json`` and many dataset exports are written), as (``path[i]``, the value)."""
    text = read_source(path)
    if not text.lstrip().startswith("["):
        shown = "standard input" if str(path) == "-" else path
        yield from ((f"{shown}:{n}", value) for n, value in _parsed_lines(text, shown))
        return
    values = parse_json(text, f"{path}", "; it starts with '[': give one JSON array, or JSON lines")
    for i, value in enumerate(values if isinstance(values, list) else []):  # it starts with '[': a list
        yield f"{path}[{i}]", value


def jsonl_lines(path: str | Path, encoding: str | None = None, option: str = "") -> Iterator[tuple[int, object]]:
    """Each non-blank line of a JSONL file as (its line number, the parsed value); bad JSON names its line, and
    so does a ``\\uD83D`` escape without its other half (not valid Unicode). ``-`` reads standard input;
    ``encoding`` and ``option`` are ``read_text``'s."""
    text = read_source(path, encoding, option)
    yield from _parsed_lines(text, "standard input" if str(path) == "-" else Path(path))


def _parsed_lines(text: str, path: str | Path) -> Iterator[tuple[int, object]]:
    for n, line in enumerate(lines(text), start=1):
        if line.strip():
            yield n, parse_json(line, f"{path}:{n}")


def parse_json(raw: str, where: str, hint: str = "") -> object:
    """``raw`` parsed as JSON; bad JSON, or a ``\uD83D`` escape without its other half, is an InputError that
    starts with ``where`` (``hint`` follows what was wrong with the JSON)."""
    try:
        value = json.loads(raw)
    except ValueError as exc:
        msg = f"{where}: not valid JSON ({exc}){hint}"
        raise InputError(msg) from exc
    found = json_surrogate(raw, value)
    if found:
        msg = f"{where}: a string holds {found}, {SURROGATE_HELP}"
        raise InputError(msg)
    return value
