"""The RAG prompt: passages deduplicated, trimmed to a token budget, numbered, with the instruction."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

SYSTEM = ("You answer questions using only the numbered passages you are given. "
          "Reply with the shortest phrase from the passages that answers the question, "
          "followed by the number of the passage it comes from, like: Paris [1]. "
          "If the passages do not contain the answer, reply: I don't know.")

CLOSED_BOOK_SYSTEM = "Answer the question with a short phrase only, not a sentence."


@attrs.frozen
class Passage:
    """One numbered passage in the prompt and where it came from."""

    number: int
    text: str
    doc_id: str = ""
    title: str = ""
    start: int = 0
    end: int = 0
    score: float = 0.0
    chunk_id: int = -1

    @classmethod
    def from_hit(cls, number: int, hit: Any, text: str | None = None) -> Passage:
        """A passage from a search hit (``text`` when it was trimmed)."""
        body = hit.text if text is None else text
        return cls(number, body, hit.doc_id, hit.title, hit.start, hit.start + len(body), float(hit.score),
                   hit.chunk_id)


def _squash(text: str) -> str:
    return " ".join(text.split())


def select_passages(hits: Sequence[Any], budget: int, count: Callable[[str], int],
                    min_tokens: int = 32) -> list[Passage]:
    """Best hits first, duplicates (same text) dropped, until ``budget`` tokens are used.

    The passage that crosses the budget is cut at a word boundary to fit, unless fewer
    than ``min_tokens`` tokens would remain of it.
    """
    out: list[Passage] = []
    seen: set[str] = set()
    left = budget
    for hit in hits:
        key = _squash(hit.text).lower()
        if not key or key in seen:
            continue
        seen.add(key)
        n = count(hit.text)
        if n <= left:
            out.append(Passage.from_hit(len(out) + 1, hit))
            left -= n
            continue
        if left >= min_tokens:
            out.append(Passage.from_hit(len(out) + 1, hit, _cut_to(hit.text, left, count)))
        break
    return out


def _cut_to(text: str, tokens: int, count: Callable[[str], int]) -> str:
    """The longest word-boundary prefix of ``text`` that has at most ``tokens`` tokens."""
    words = text.split(" ")
    lo, hi = 0, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(" ".join(words[:mid])) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


def passages_block(passages: Sequence[Passage]) -> str:
    """``[1] (title) text`` lines, one per passage."""
    lines = []
    for p in passages:
        title = f"({p.title}) " if p.title else ""
        lines.append(f"[{p.number}] {title}{_squash(p.text)}")
    return "\n\n".join(lines)


def build_messages(question: str, passages: Sequence[Passage], system: str = SYSTEM) -> list[dict[str, str]]:
    """Chat messages asking ``question`` over ``passages`` (no passages: closed book)."""
    if not passages:
        return [{"role": "system", "content": CLOSED_BOOK_SYSTEM},
                {"role": "user", "content": f"Question: {question.strip()}"}]
    user = f"Passages:\n\n{passages_block(passages)}\n\nQuestion: {question.strip()}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


_NUMBERED = re.compile(r"^\[(\d+)\]\s*(.*)$")


def parse_messages(messages: Sequence[Mapping[str, str]]) -> tuple[str, dict[int, str]]:
    """The question and numbered passages of a prompt ``build_messages`` wrote (a passage keeps its ``(title)``).

    The question is the last user turn after ``Question:`` (the whole turn when nothing follows it).
    """
    user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    question = user.rsplit("Question:", 1)[-1].strip() or user
    passages = {int(m.group(1)): m.group(2) for m in map(_NUMBERED.match, user.split("\n\n")) if m}
    return question, passages
