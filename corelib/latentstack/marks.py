"""Unicode's combining marks as ranges for a regular expression's character class.

Python's ``re`` has no ``\\p{M}``, and ``\\w`` does not match a combining mark, so a word
with vowel signs (Hindi, Bengali, Tamil), points (Hebrew, Arabic) or a decomposed accent is
cut at each mark. The lexical indexes put these ranges beside ``\\w`` in their word patterns.
"""

from __future__ import annotations

from functools import cache

#: Planes holding combining marks: the basic and supplementary multilingual planes, and the variation selectors.
_MARK_SPANS = ((0, 0x20000), (0xE0100, 0xE01F0))


@cache
def combining_marks() -> str:
    """Every combining mark (Unicode category M) as ``\\Uxxxxxxxx-\\Uxxxxxxxx`` ranges, joined."""
    import unicodedata

    points = [c for lo, hi in _MARK_SPANS for c in range(lo, hi) if unicodedata.category(chr(c)).startswith("M")]
    starts = [c for i, c in enumerate(points) if i == 0 or points[i - 1] != c - 1]
    ends = [c for i, c in enumerate(points) if i == len(points) - 1 or points[i + 1] != c + 1]
    return "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in zip(starts, ends, strict=True))
