"""Reading documents from files, folders and JSONL for ``latentstack index build/add``.

- ``.jsonl``: one object per line with ``text`` (required; ``--text-col`` names another key,
  e.g. LangChain's ``page_content``), ``id``, ``title``; every other key goes into the
  metadata (or put them under ``metadata``).
- ``.json``: a list of such objects (in a folder, a ``.json`` file that is no list is
  passed over with a notice: a ``package.json`` is not documents).
- ``.csv``, ``.tsv``: a table with a header line, a row per document, its columns read as
  JSONL's keys (``text`` required; an empty ``id`` or ``title`` cell is none). Given by
  themselves only: in a folder they are passed over (a data table is seldom documents).
- ``-``: JSONL on standard input.
- a glob pattern (``docs/**/*.md``, quoted so the shell leaves it): the files it matches, but
  those that are not text (a NUL byte near the start: PDFs, images), passed over with a notice.
- any other file (``.txt``, ``.md``...): one document, id = its path, title = its name,
  metadata ``file`` = its path (``--where file=notes/a.md``, as a PDF's pages have it); a
  Markdown note's YAML front matter gives more metadata (its own ``file`` kept) and its title,
  else the level-1 heading it opens with (``front_matter.py``); an HTML page is read as its visible text, paragraph by block, titled by
  its ``<title>`` (``html_text.py``).
- a folder: every file under it with one of TEXT_SUFFIXES (in any case), but those in hidden
  folders or hidden themselves (``.git/``, ``.venv/``); a notice names the other files passed over.

Files must be UTF-8 (a BOM is accepted) or the encoding given (``--encoding``, for every
file read that is not UTF-8; Parquet holds its own); anything else is an error that names
the file and the fix, raised before anything is written.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from latentstack.errors import InputError
from latentstack.progress import log, progress
from latentstack.search.front_matter import heading_title, split_front_matter
from latentstack.search.html_text import html_text, read_page
from latentstack.search.pdf_pages import pdf_documents, pdf_readable
from latentstack.search.store import Document
from latentstack.textfile import jsonl_lines, read_text

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst", ".html", ".htm", ".jsonl", ".json", ".parquet")
TABLE_SUFFIXES = (".csv", ".tsv")  # read as a row per document when given by themselves


def _convert() -> str:
    """What to do with files passed over."""
    if pdf_readable():
        return "convert other formats to text first"
    return "PDFs are read once pypdf is installed: pip install 'latentstack[pdf]'; convert other formats to text first"


def readable_suffixes() -> tuple[str, ...]:
    """The suffixes of the files a folder is read for: TEXT_SUFFIXES, and .pdf where pypdf is installed."""
    return (*TEXT_SUFFIXES, ".pdf") if pdf_readable() else TEXT_SUFFIXES


def document_of(rec: object, where: str, n: int, text_key: str = "text") -> Document:
    """A record (``text``, or ``text_key``, required; ``id``, ``title``, ``metadata``, other keys metadata too) as a
    Document; without an id, it is ``WHERE#N``."""
    if not isinstance(rec, dict) or not isinstance(rec.get(text_key), str):
        msg = f"{where}: record {n} needs a string {text_key!r} field (index build --text-col names another)"
        raise InputError(msg)
    if not isinstance(rec.get("metadata") or {}, dict):
        msg = f"{where}: record {n}'s 'metadata' must be an object of fields, got {type(rec['metadata']).__name__}"
        raise InputError(msg)
    meta = dict(rec.get("metadata") or {})
    meta.update({k: v for k, v in rec.items() if k not in ("id", text_key, "title", "metadata")})
    doc_id = rec.get("id")
    return Document(f"{where}#{n}" if doc_id is None else doc_id, rec[text_key], str(rec.get("title", "")), meta)


def table_records(docs: Any) -> Any:
    """A data frame or table (pandas, polars, pyarrow) as a list of row dicts, a missing (NaN) cell left out; anything
    else as given. A pandas Series, one row or one column, is refused."""
    kind = type(docs).__name__
    if kind == "Series":
        msg = "a Series is one row or one column: give the DataFrame, or a list of row dicts ([row.to_dict()])"
        raise InputError(msg)
    if kind == "DataFrame" and callable(getattr(docs, "to_dicts", None)):  # polars
        return docs.to_dicts()
    if kind == "DataFrame" and callable(getattr(docs, "to_dict", None)):  # pandas
        return [{k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))}
                for row in docs.to_dict("records")]
    if kind in ("Table", "RecordBatch") and callable(getattr(docs, "to_pylist", None)):  # pyarrow
        return docs.to_pylist()
    return docs


def _read_parquet(file: Path, text_key: str) -> Iterator[Document]:
    """Rows of a Parquet file as records (``text`` required; ``id``, ``title``, other columns metadata), in batches."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        msg = f"reading {file} needs pyarrow: pip install 'latentstack[ray]' (or pyarrow)"
        raise InputError(msg) from exc
    try:
        table = pq.ParquetFile(file)
        n = 0
        for batch in table.iter_batches(batch_size=4096):
            for rec in batch.to_pylist():
                n += 1
                yield document_of(rec, str(file), n, text_key)
    except (OSError, pa.ArrowException) as exc:
        msg = f"{file} is not a readable Parquet file ({str(exc).splitlines()[0][:200]})"
        raise InputError(msg) from exc


@attrs.frozen
class Reading:
    """How the files are read: their text's key or column, their encoding (None: UTF-8) and the option that
    names it, for the not-UTF-8 error (``--encoding`` on the command line)."""

    text_key: str = "text"
    encoding: str | None = None
    option: str = ""


def read_documents(paths: Sequence[str | Path], text_key: str = "text", encoding: str | None = None,
                   option: str = "") -> Iterator[Document]:
    """Every document in the given files and folders, in order; records hold their text under ``text_key``, and
    the files are decoded as ``encoding`` (default UTF-8; ``option`` is named where it is not)."""
    how = Reading(text_key, encoding, option)
    for raw in paths:
        if str(raw) == "-":  # JSONL piped in
            yield from (document_of(rec, "stdin", n, text_key) for n, rec in jsonl_lines(raw, encoding, option))
            continue
        matched = _expanded(Path(raw))
        found = matched if Path(raw).exists() else _text_files(matched, str(raw))
        for path in progress(found, desc=f"reading {raw}", unit="file", enabled=len(found) > 100):  # a pattern's
            files = _folder_files(path) if path.is_dir() else [path]
            for file in progress(files, desc=f"reading {path}", unit="file", enabled=len(files) > 100):
                yield from _read_file(file, how, in_folder=path.is_dir(), named=Path(raw) == file)


def check_sources(paths: Sequence[str | Path]) -> None:
    """Refuse a path that does not exist, or a pattern that matches nothing, before any work is done."""
    for raw in paths:
        if str(raw) != "-":
            _expanded(Path(raw))


def _expanded(path: Path) -> list[Path]:
    """``path`` itself, or the files a glob pattern (``docs/**/*.md``, quoted from the shell) matches, sorted."""
    if path.exists():
        return [path]
    if not any(c in str(path) for c in "*?["):
        msg = f"{path} does not exist"
        raise InputError(msg)
    import glob

    found = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
    if not found:
        msg = f"{path} matches no file"
        raise InputError(msg)
    return found


def _text_files(matched: list[Path], pattern: str) -> list[Path]:
    """The files a glob matched but those that are not text (a NUL byte near their start: ``*`` matches PDFs and
    images too), passed over said in one line, as a folder's are; Parquet files are read as tables."""
    from latentstack.textfile import looks_binary

    read = readable_suffixes()

    def binary(file: Path) -> bool:
        suffix = file.suffix.lower()
        if suffix in (".parquet", ".pdf"):  # formats read as such (a PDF when pypdf is installed)
            return suffix not in read
        with open(file, "rb") as fh:
            return looks_binary(fh.read(8192))

    passed = [file for file in matched if binary(file)]
    skipped = set(passed)
    shown = ", ".join(map(str, passed[:5])) + (f" and {len(passed) - 5} more" if len(passed) > 5 else "")
    if passed and len(passed) == len(matched):
        msg = f"{pattern} matches no text file, only {shown}: {_convert()}"
        raise InputError(msg)
    if passed:
        log(f"passed over {len(passed)} file(s) matched by {pattern} that are not text: {shown} ({_convert()})")
    return [file for file in matched if file not in skipped]


def _folder_files(folder: Path) -> list[Path]:
    """The readable files under ``folder``, sorted; hidden ones skipped, the others passed over said in one line."""
    files = [p for p in folder.rglob("*") if p.is_file() and not any(
        part.startswith(".") for part in p.relative_to(folder).parts)]
    read = readable_suffixes()
    passed = sorted(p.relative_to(folder).as_posix() for p in files if p.suffix.lower() not in read)
    if passed:
        shown = ", ".join(passed[:5]) + (f" and {len(passed) - 5} more" if len(passed) > 5 else "")
        log(f"passed over {len(passed)} file(s) under {folder} that are not {', '.join(read)}: {shown} "
            f"({_convert()}; a CSV or TSV of documents is read when given by itself)")
    return sorted(p for p in files if p.suffix.lower() in read)


def _read_file(file: Path, how: Reading, in_folder: bool = False, named: bool = True) -> Iterator[Document]:
    """The documents of one file; ``named``: given by itself (not found in a folder or by a pattern)."""
    suffix, text_key = file.suffix.lower(), how.text_key
    if suffix == ".pdf":
        yield from pdf_documents(file, named)
        return
    if suffix == ".parquet":
        yield from _read_parquet(file, text_key)
        return
    if suffix == ".jsonl":
        for n, rec in jsonl_lines(file, how.encoding, how.option):
            yield document_of(rec, str(file), n, text_key)
        return
    text = read_page(file, how.encoding, how.option) if suffix in (".html", ".htm") else read_text(
        file, how.encoding, how.option)
    if suffix in TABLE_SUFFIXES:
        yield from _table_documents(file, text, text_key)
    elif suffix == ".json":
        yield from _json_documents(file, text, text_key, in_folder)
    else:
        yield _text_document(file, text, suffix)


def _text_document(file: Path, text: str, suffix: str) -> Document:
    """A text, Markdown or HTML file as one document, titled by its ``<title>``, its front matter's ``title`` or
    opening heading, else its name; its path is its metadata ``file`` (a note's own ``file`` field kept)."""
    meta: dict[str, Any] = {"file": str(file)}
    title: str | None = None
    if suffix in (".html", ".htm"):
        text, title = html_text(text)
    elif suffix in (".md", ".markdown"):
        fields, text = split_front_matter(text, str(file))
        given = fields.pop("title", None)
        title = str(given) if isinstance(given, str | int | float) else heading_title(text)
        meta.update(fields)
    return Document(str(file), text, title or file.stem, meta)


def _json_documents(file: Path, text: str, text_key: str, in_folder: bool) -> Iterator[Document]:
    """A JSON list of records; a file that is no such list stops the build when given, and is passed over (said) in a
    folder, where a package.json or a settings file is no list of documents."""
    try:
        records = json.loads(text)
        problem = "" if isinstance(records, list) else f"must hold a JSON list of objects with a {text_key!r} field"
    except ValueError as exc:
        problem = f"is not valid JSON ({exc})"
    if problem and in_folder:
        log(f"passed over {file}: not a JSON list of documents")
        return
    if problem:
        msg = f"{file} {problem}"
        raise InputError(msg)
    yield from (document_of(r, str(file), n, text_key) for n, r in enumerate(records, start=1))


def _table_documents(file: Path, text: str, text_key: str) -> Iterator[Document]:
    """A CSV or TSV file's rows as records; it must have a ``text_key`` column."""
    from latentstack.data.labeled import read_table

    rows = read_table(file, text)
    if rows and text_key not in rows[0]:
        msg = (f"{file} has no {text_key!r} column (columns: {', '.join(map(str, rows[0]))}): name the column "
               "of the documents' texts with --text-col (id, title and the other columns are read too)")
        raise InputError(msg)
    for n, row in enumerate(rows, start=1):
        yield document_of({k: v for k, v in row.items() if k and not (k in ("id", "title") and v == "")},
                          str(file), n, text_key)
