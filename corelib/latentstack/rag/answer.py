"""Turning the model's reply into an answer: citations parsed and mapped, a short form extracted."""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from latentstack.rag.metrics import normalize_answer
from latentstack.rag.prompt import Passage

CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_LEAD = re.compile(r"^(?:the\s+)?(?:final\s+)?answer(?:\s+to\s+(?:the|your|this)\s+question)?(?:\s+is)?\s*[:\-]?\s*",
                   re.IGNORECASE)
_EDGE_WORDS = {"a", "an", "the", "at", "in", "on", "of", "by", "to", "for", "from", "with", "was", "were",
               "is", "are", "and", "as", "it", "its", "that", "which", "who"}
UNKNOWN = "I don't know."


@attrs.frozen
class Citation:
    """A passage the answer rests on: its number in the prompt and where it came from.

    ``how`` is ``model`` when the model wrote ``[n]``, ``matched`` when the answer's
    text was found in the passage (the model gave no usable citation).
    """

    number: int
    doc_id: str
    title: str
    start: int
    end: int
    text: str
    how: str = "model"

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return attrs.asdict(self)


def parse_citations(reply: str, n_passages: int) -> list[int]:
    """Passage numbers cited as ``[n]`` or ``[n, m]``, in order of first mention, within 1..n_passages."""
    seen: list[int] = []
    for group in CITATION.findall(reply):
        for part in group.split(","):
            n = int(part)
            if 1 <= n <= n_passages and n not in seen:
                seen.append(n)
    return seen


def clean_answer(reply: str) -> str:
    """The reply without citation marks, an ``Answer:`` lead-in or trailing blank lines."""
    text = CITATION.sub("", reply).strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first = _LEAD.sub("", first).strip()
    return re.sub(r"\s+([.,;:!?])", r"\1", first).strip()


def says_unknown(answer: str) -> bool:
    """True when the model declined to answer."""
    norm = normalize_answer(answer)
    return norm.startswith(("i dont know", "i do not know")) or norm in {"unknown", "not mentioned"}


def short_answer(answer: str, question: str) -> str:
    """A short span from a sentence-like answer: the longest run of words the question does not use.

    A small model often answers "Super Bowl 50 was played at Levi's Stadium." to "Where
    was Super Bowl 50 played?"; the words it adds to the question are the answer. Short
    answers (up to four words) are kept as they are, minus a final full stop.
    """
    text = answer.strip().rstrip(".").strip()
    words = text.split()
    if len(words) <= 4:
        return text
    asked = set(normalize_answer(question).split())
    best: tuple[int, int] = (0, 0)
    start = 0
    for i, word in enumerate([*words, ""]):
        if i == len(words) or (normalize_answer(word) in asked and normalize_answer(word)):
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = i + 1
    span = words[best[0]:best[1]]
    while span and normalize_answer(span[0]) in _EDGE_WORDS | {""}:
        span = span[1:]
    while span and normalize_answer(span[-1]) in _EDGE_WORDS | {""}:
        span = span[:-1]
    return " ".join(span).strip(" ,;:") or text


def cite(reply: str, answer: str, passages: Sequence[Passage]) -> list[Citation]:
    """The passages the reply cites, or, when it cites none, those whose text contains the answer."""
    numbers = parse_citations(reply, len(passages))
    how = "model"
    if not numbers and answer and not says_unknown(answer):
        needle = normalize_answer(answer)
        numbers = [p.number for p in passages if needle and needle in normalize_answer(p.text)][:1]
        how = "matched"
    by_number = {p.number: p for p in passages}
    return [Citation(n, by_number[n].doc_id, by_number[n].title, by_number[n].start, by_number[n].end,
                     by_number[n].text, how) for n in numbers]
