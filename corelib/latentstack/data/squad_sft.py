"""SFT examples from SQuAD in the RAG prompt's own format, from one half of the articles only.

Each example is the RAG prompt (system instruction, numbered passages, question) with
the gold paragraph among the passages (alone, or beside a distractor paragraph from the
same article at a random position) and the reply ``<answer> [n]``. Articles are split by
parity (``Squad.sample``'s halves), so training and evaluation never share an article.
"""

from __future__ import annotations

import random

import attrs

from latentstack.data.squad import Squad
from latentstack.rag.prompt import Passage, build_messages


@attrs.frozen
class RagItem:
    """A RAG prompt over SQuAD passages, with what a judge needs: the gold answers and the gold passage's number."""

    question: str
    messages: list[dict[str, str]]
    answers: tuple[str, ...]
    gold: int


def squad_rag_items(squad: Squad, *, half: str = "tune", limit: int = 400, seed: int = 0,
                    passages: int = 3) -> list[RagItem]:
    """Prompts like ``ask``'s: the gold paragraph among up to ``passages - 1`` others of its article, shuffled."""
    rng = random.Random(seed)
    paragraphs = {p.id: p for p in squad.paragraphs}
    by_article: dict[int, list[str]] = {}
    for p in squad.paragraphs:
        by_article.setdefault(p.article, []).append(p.id)
    questions = squad.sample(None, seed, half)
    rng.shuffle(questions)
    out = []
    for q in questions[:limit]:
        others = [pid for pid in by_article[q.article] if pid != q.paragraph]
        chosen = [q.paragraph, *rng.sample(others, min(len(others), passages - 1))]
        rng.shuffle(chosen)
        numbered = [Passage(i + 1, paragraphs[pid].text, pid, paragraphs[pid].title) for i, pid in enumerate(chosen)]
        out.append(RagItem(q.text, build_messages(q.text, numbered), q.answers, chosen.index(q.paragraph) + 1))
    return out


def squad_sft_examples(squad: Squad, *, half: str = "tune", limit: int = 400, seed: int = 0,
                       distractor_share: float = 0.5, max_per_paragraph: int = 2,
                       answer: str = "shortest") -> list[list[dict[str, str]]]:
    """Up to ``limit`` chat examples from the questions of one half of the articles.

    The reply is the shortest gold answer, or with ``answer="first"`` the first one (the
    one SQuAD's training files keep); the shortest trained the better adapter (docs/benchmarks.md, the SFT
    section, compares them).
    """
    if answer not in ("first", "shortest"):
        msg = f"answer must be 'first' or 'shortest', not {answer!r}"
        raise ValueError(msg)
    rng = random.Random(seed)
    paragraphs = {p.id: p for p in squad.paragraphs}
    by_article: dict[int, list[str]] = {}
    for p in squad.paragraphs:
        by_article.setdefault(p.article, []).append(p.id)
    per_paragraph: dict[str, int] = {}
    questions = squad.sample(None, seed, half)
    rng.shuffle(questions)
    out = []
    for q in questions:
        if per_paragraph.get(q.paragraph, 0) >= max_per_paragraph:
            continue
        per_paragraph[q.paragraph] = per_paragraph.get(q.paragraph, 0) + 1
        chosen = [q.paragraph]
        others = [pid for pid in by_article[q.article] if pid != q.paragraph]
        if others and rng.random() < distractor_share:
            chosen.insert(rng.randrange(2), rng.choice(others))
        passages = [Passage(i + 1, paragraphs[pid].text, pid, paragraphs[pid].title)
                    for i, pid in enumerate(chosen)]
        gold = chosen.index(q.paragraph) + 1
        reply = q.answers[0] if answer == "first" else min(q.answers, key=len)
        out.append([*build_messages(q.text, passages), {"role": "assistant", "content": f"{reply} [{gold}]"}])
        if len(out) >= limit:
            break
    return out
