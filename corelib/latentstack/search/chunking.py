"""Splitting documents into the passages that get embedded and indexed.

``whole`` keeps each document as one chunk, ``paragraph`` splits at blank lines (not those
inside a fenced code block), and ``sentences`` makes windows of ``window`` sentences that
overlap by ``overlap``. A paragraph shorter than ``min_chars`` (a heading, a list item, the
line that introduces a code block) joins the next, and so does a Markdown heading of any
length, so no passage is a heading without its text; the last joins the one before
(``min_chars=0`` joins nothing). Any chunk longer than ``max_chars`` is split again at
sentence (then word) boundaries, so a 1 MB document becomes many passages instead of one
truncated vector.
"""

from __future__ import annotations

import bisect
import re

import attrs

from latentstack.errors import ConfigError
from latentstack.interfaces.base import Config

SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
HEADING_LINE = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
FENCE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,}).*?(?:^[ ]{0,3}\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)


@attrs.frozen(kw_only=True)
class ChunkConfig(Config):
    """How documents are cut into passages."""

    mode: str = attrs.field(default="paragraph", validator=attrs.validators.in_(("whole", "paragraph", "sentences")))
    window: int = attrs.field(default=3, validator=attrs.validators.gt(0))
    overlap: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    max_chars: int = attrs.field(default=2000, validator=attrs.validators.gt(50))
    min_chars: int = attrs.field(default=100, validator=attrs.validators.ge(0))

    def __attrs_post_init__(self) -> None:
        if self.overlap >= self.window:
            msg = f"overlap ({self.overlap}) must be smaller than window ({self.window})"
            raise ConfigError(msg)


@attrs.frozen
class Chunk:
    """A passage: its position in the document and its character span there."""

    position: int
    start: int
    end: int
    text: str


def _spans(text: str, pattern: re.Pattern[str], start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Non-blank pieces of text[start:end] between matches of ``pattern``, as (start, end)."""
    end = len(text) if end is None else end
    out, pos = [], start
    for m in pattern.finditer(text, start, end):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, end))
    return [(a, b) for a, b in out if text[a:b].strip()]


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Paragraph spans: pieces between blank lines, a fenced code block's own blank lines not counted."""
    fences = [m.span() for m in FENCE.finditer(text)]  # in order, apart
    starts = [a for a, _ in fences]

    def fenced(at: int) -> bool:
        i = bisect.bisect_left(starts, at) - 1
        return i >= 0 and at < fences[i][1]

    breaks = [m for m in PARAGRAPH_BREAK.finditer(text) if not fenced(m.start())]
    bounds = [0] + [x for m in breaks for x in m.span()] + [len(text)]
    return [(a, b) for a, b in zip(bounds[::2], bounds[1::2], strict=True) if text[a:b].strip()]


def _join_short(text: str, spans: list[tuple[int, int]], min_chars: int) -> list[tuple[int, int]]:
    """Spans where each piece shorter than min_chars, or only Markdown headings, has joined the next (the last,
    the one before)."""
    def short(span: tuple[int, int]) -> bool:
        piece = text[span[0] : span[1]].strip()
        return len(piece) < min_chars or all(HEADING_LINE.match(line) for line in piece.splitlines() if line.strip())

    if min_chars == 0:
        return spans
    out: list[tuple[int, int]] = []
    for span in spans:
        if out and short(out[-1]):
            out[-1] = (out[-1][0], span[1])
        else:
            out.append(span)
    if len(out) > 1 and short(out[-1]):
        out[-2:] = [(out[-2][0], out[-1][1])]
    return out


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans (a simple, language-light splitter: end punctuation + capital)."""
    return _spans(text, SENTENCE_END, start, end)


def _cap(text: str, span: tuple[int, int], max_chars: int) -> list[tuple[int, int]]:
    """Split a span longer than max_chars at sentence boundaries, then at spaces, then hard."""
    a, b = span
    if b - a <= max_chars:
        return [span]
    pieces: list[tuple[int, int]] = []
    cur = a
    for s_a, s_b in sentence_spans(text, a, b):
        if s_b - cur > max_chars and s_a > cur:
            pieces.append((cur, s_a))
            cur = s_a
        while s_b - cur > max_chars:
            cut = text.rfind(" ", cur + 1, cur + max_chars)
            cut = cut if cut > cur else cur + max_chars
            pieces.append((cur, cut))
            cur = cut
    pieces.append((cur, b))
    return [(x, y) for x, y in pieces if text[x:y].strip()]


def chunk_text(text: str, config: ChunkConfig | None = None) -> list[Chunk]:
    """Cut one document into chunks; an empty or blank document gives none."""
    c = config or ChunkConfig()
    if not text.strip():
        return []
    if c.mode == "whole":
        spans = [(0, len(text))]
    elif c.mode == "paragraph":
        spans = _join_short(text, paragraph_spans(text), c.min_chars)
    else:
        sents = [s for p in paragraph_spans(text) for s in sentence_spans(text, *p)]
        step = c.window - c.overlap
        starts = range(0, max(len(sents) - c.overlap, 1), step)
        spans = [(sents[i][0], sents[min(i + c.window, len(sents)) - 1][1]) for i in starts]
    capped = [piece for span in spans for piece in _cap(text, span, c.max_chars)]
    return [Chunk(i, a, b, text[a:b].strip()) for i, (a, b) in enumerate(capped)]
