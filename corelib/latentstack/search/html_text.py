"""The text of an HTML page (a saved web page, a Sphinx or MkDocs build) as a document reads it.

Markup was indexed as words ("<div class=...>"), or the files were passed over. The
page's visible text is kept (scripts, styles, templates and the head's metadata left out);
where the page marks its content (``<main>``, ``<article>`` or ``role="main"``, as Sphinx,
MkDocs, Docusaurus and most blog themes do), only that, so a site's menus and footers,
the same on every page, do not make every page match their words. Each
block element (paragraph, heading, list item, table row...) on a paragraph of its own so
that paragraph chunking follows the page, entities decoded; ``<title>`` (or the first
``<h1>``) is the title. Only the standard library's parser is used: no network, no scripts run.
A page that is not UTF-8 is read in the charset its ``<meta>`` declares.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

_SKIP = {"script", "style", "noscript", "template", "svg", "iframe", "object"}  # the head holds only these, and title
_BLOCKS = {"p", "div", "section", "article", "main", "aside", "header", "footer", "nav", "blockquote", "pre", "li",
           "ul", "ol", "dl", "dt", "dd", "table", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "figure",
           "figcaption", "form", "details", "summary", "address"}


class _PageText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.main: list[str] = []  # the parts inside the page's marked content
        self._main_tag, self._main_depth = "", 0
        self.title: list[str] = []
        self.heading: list[str] = []
        self._skipping: list[str] = []  # the open elements whose text is left out
        self._in_title = self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._main_depth and tag == self._main_tag:
            self._main_depth += 1
        elif not self._main_depth and (tag in ("main", "article") or ("role", "main") in attrs):
            self._main_tag, self._main_depth = tag, 1
        if tag == "title":
            self._in_title = True
        elif tag in _SKIP:
            self._skipping.append(tag)
        elif tag == "h1" and not self.heading:
            self._in_h1 = True
        if tag in _BLOCKS:
            self._add("\n\n")
        elif tag in ("br", "td", "th"):  # a line break or a cell: a space within the block
            self._add(" ")

    def _add(self, text: str) -> None:
        self.parts.append(text)
        if self._main_depth:
            self.main.append(text)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif self._skipping and tag == self._skipping[-1]:
            self._skipping.pop()
        elif tag == "h1":
            self._in_h1 = False
        if tag in _BLOCKS:
            self._add("\n\n")
        if self._main_depth and tag == self._main_tag:
            self._main_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skipping:
            self._add(data)
            if self._in_h1:
                self.heading.append(data)


def html_text(html: str) -> tuple[str, str]:
    """The page's visible text (blocks as paragraphs, runs of spaces as one) and its title ("" when it has none)."""
    page = _PageText()
    page.feed(html)
    page.close()
    parts = page.main if "".join(page.main).strip() else page.parts
    paragraphs = (" ".join(block.split()) for block in "".join(parts).split("\n\n"))
    title = " ".join("".join(page.title).split()) or " ".join("".join(page.heading).split())
    return "\n\n".join(p for p in paragraphs if p), title


_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_WINDOWS = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii"}  # the HTML standard reads as cp1252


def declared_charset(raw: bytes) -> str | None:
    """The charset a page's ``<meta charset>`` or ``<meta http-equiv="Content-Type" content="...; charset=">``
    declares in its first 1024 bytes (the HTML standard's prescan), as Python names it; None where none is, or
    Python knows no such codec."""
    import codecs

    found = _CHARSET.search(raw[:1024])
    if found is None:
        return None
    label = found.group(1).decode("ascii").lower()
    try:
        return "cp1252" if label in _WINDOWS else codecs.lookup(label).name
    except LookupError:
        return None


def read_page(path: Path, encoding: str | None, option: str) -> str:
    """A page's markup: decoded as ``encoding`` when given, else as UTF-8, else as the charset its ``<meta>``
    declares (a page saved from an older site in windows-1252 or Shift_JIS), else ``read_text``'s error."""
    from latentstack.errors import InputError
    from latentstack.textfile import read_text

    try:
        return read_text(path, encoding, option)
    except InputError:
        if encoding is not None or not path.is_file():
            raise
        raw = path.read_bytes()
        charset = declared_charset(raw)
        if charset is None or charset == "utf-8":
            raise
        try:
            return raw.decode(charset)
        except UnicodeDecodeError:
            msg = (f"{path} declares charset {charset} but is not {charset}: give {option or '--encoding'} with the "
                   "encoding it was written in")
            raise InputError(msg) from None
