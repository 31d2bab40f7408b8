"""PDF files as documents, a page each, read with pypdf (the ``pdf`` extra), as LlamaIndex's PDF reader reads them.

A page is a document of its own, so a hit (and ``ask``'s citation) says which page: its id
is ``FILE#page=N``, its title the PDF's title (or the file's name) and the page, and its
metadata ``file`` and ``page`` (``--where file=report.pdf``... takes the file's path as
given). Pages without text (a scan without a text layer) are left out, and a PDF with
none at all is said; an encrypted or damaged PDF is a one-line error. pypdf is pure
Python and runs nothing a PDF holds.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

from latentstack.errors import InputError
from latentstack.progress import log
from latentstack.search.store import Document


def pdf_readable() -> bool:
    """Whether pypdf is installed (``pip install 'latentstack[pdf]'``)."""
    return importlib.util.find_spec("pypdf") is not None


def pdf_documents(file: Path, named: bool = True) -> Iterator[Document]:
    """The pages of ``file`` that hold text, as documents. A PDF that cannot be read stops the reading when it was
    ``named`` by itself, and is passed over with a notice when a folder or a pattern held it."""
    if not pdf_readable():
        msg = f"{file} is a PDF; reading PDFs needs pypdf: pip install 'latentstack[pdf]' (or convert it: pdftotext {file})"
        raise InputError(msg)
    try:
        title, pages = _read(file)
    except InputError as exc:
        if named:
            raise
        log(f"passed over {exc}")
        return
    if not any(page.strip() for page in pages):
        log(f"{file}: no page holds text (a scan without a text layer?); OCR it first, e.g. `ocrmypdf {file} out.pdf`")
    for n, text in enumerate(pages, start=1):
        if text.strip():
            yield Document(f"{file}#page={n}", text, f"{title}, page {n}", {"file": str(file), "page": n})


def _read(file: Path) -> tuple[str, list[str]]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(file)
        if reader.is_encrypted and not reader.decrypt(""):
            msg = f"{file} is an encrypted PDF; decrypt it first (e.g. `qpdf --decrypt --password=... {file} out.pdf`)"
            raise InputError(msg)
        title = str(reader.metadata.title or "") if reader.metadata else ""
        return title.strip() or file.stem, [page.extract_text() or "" for page in reader.pages]
    except InputError:
        raise
    except Exception as exc:  # pypdf's errors on a damaged file are of many kinds
        msg = f"{file} is not a readable PDF ({type(exc).__name__}: {str(exc)[:200]})"
        raise InputError(msg) from exc
