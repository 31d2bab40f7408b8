"""SQuAD v1.1 JSON as a retrieval / RAG benchmark.

Every paragraph is a document; a question's one relevant document is the paragraph it
was asked about. Articles split in two halves (even / odd position) so that settings
can be chosen on one half and reported on the other.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import attrs

from latentstack.errors import InputError
from latentstack.textfile import read_text


@attrs.frozen
class Paragraph:
    """One paragraph: id ``a{article}-p{n}``, its article's title and index."""

    id: str
    article: int
    title: str
    text: str


@attrs.frozen
class Question:
    """One question, the paragraph it belongs to, and its gold answers."""

    id: str
    text: str
    paragraph: str
    article: int
    answers: tuple[str, ...]


@attrs.frozen
class Squad:
    """The paragraphs and questions of one SQuAD file."""

    name: str
    paragraphs: list[Paragraph]
    questions: list[Question]

    def sample(self, limit: int | None, seed: int = 0, half: str = "all") -> list[Question]:
        """Questions of one half of the articles ("tune": even, "heldout": odd, or "all"), then a seeded sample."""
        if half not in ("all", "tune", "heldout"):
            msg = f"half must be all, tune or heldout, not {half!r}"
            raise InputError(msg)
        qs = [q for q in self.questions if half == "all" or (q.article % 2 == 0) == (half == "tune")]
        if limit is not None and limit < len(qs):
            qs = random.Random(seed).sample(qs, limit)
        return qs


def load_squad(path: str | Path) -> Squad:
    """Read a SQuAD v1.1 file; anything else is a clear error."""
    path = Path(path)
    text = read_text(path)
    try:
        raw = json.loads(text)
        articles = raw["data"]
    except (ValueError, KeyError, TypeError) as exc:
        msg = f"{path} is not a SQuAD v1.1 JSON file ({exc})"
        raise InputError(msg) from exc
    paragraphs, questions = [], []
    for a, article in enumerate(articles):
        for p, para in enumerate(article["paragraphs"]):
            pid = f"a{a}-p{p}"
            paragraphs.append(Paragraph(pid, a, article.get("title", "").replace("_", " "), para["context"]))
            for qa in para["qas"]:
                answers = tuple(dict.fromkeys(ans["text"] for ans in qa["answers"]))
                questions.append(Question(qa["id"], qa["question"], pid, a, answers))
    if not paragraphs:
        msg = f"{path} holds no paragraphs"
        raise InputError(msg)
    return Squad(path.name, paragraphs, questions)
