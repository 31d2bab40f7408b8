"""YAML front matter of Markdown notes (Obsidian, Jekyll, Hugo): a note's fields as its document's metadata.

A note that starts with a ``---`` line and holds a closing ``---`` (or ``...``) line below
it carries a YAML mapping between them. Its fields become the document's metadata, for
``--where`` (``--where tags=draft``, ``--where date>=2024-01-01``); ``title`` becomes the
document's title; the text indexed is what follows the block, so the fields are not
searched as words. Dates are kept as ISO text (so they order as dates), lists of values
as lists (a filter matches any of them); nested mappings and empty fields are left out.
A block that is not a YAML mapping (a ``---`` rule opening a plain note) leaves the note
as it is; one that is not valid YAML too, with a notice. A note without a ``title`` field
whose text opens with a level-1 heading (``# Garden``, or ``Garden`` over a ``===`` line)
takes the heading as its title, as MkDocs and Docusaurus do; the heading stays in the text.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from latentstack.progress import log
from latentstack.textfile import lines

_ATX_H1 = re.compile(r"#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*")  # "# Title", "# Title #"; "#tag" is no heading
_SETEXT_H1 = re.compile(r"=+[ \t]*")
_BLOCK = re.compile(r"---[ \t]*\r?\n(.*?)(?:\r?\n|^)(?:---|\.\.\.)[ \t]*(?:\r?\n|$)", re.DOTALL | re.MULTILINE)


def split_front_matter(text: str, where: str) -> tuple[dict[str, Any], str]:
    """The note's fields and the text after them; ``({}, text)`` when it has no front matter."""
    found = _BLOCK.match(text) if text.startswith("---") else None
    if not found:
        return {}, text
    import yaml

    try:
        fields = yaml.safe_load(found.group(1))
    except yaml.YAMLError as exc:
        log(f"{where}: its front matter is not valid YAML ({str(exc).splitlines()[0]}); indexed as plain text")
        return {}, text
    if fields is None:  # an empty block
        return {}, text[found.end():]
    if not isinstance(fields, dict):
        return {}, text
    return {str(k): v for k, v in ((k, _value(v)) for k, v in fields.items()) if v is not None}, text[found.end():]


def heading_title(body: str) -> str | None:
    """The level-1 heading the note's text opens with (its first non-blank line), if any."""
    rows = lines(body.lstrip())[:2]  # line ends only: a form feed may stand inside a line
    if not rows:
        return None
    found = _ATX_H1.fullmatch(rows[0].strip())
    if found:
        return found.group(1).strip() or None
    setext = len(rows) == 2 and rows[0].strip() and _SETEXT_H1.fullmatch(rows[1].strip())
    return rows[0].strip() if setext else None


def _value(value: Any) -> Any:
    """A field as metadata holds it: a scalar, a date as ISO text, a list of those; None for anything else."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list):
        items = [_value(v) for v in value]
        return [v for v in items if v is not None and not isinstance(v, list)]
    return None
