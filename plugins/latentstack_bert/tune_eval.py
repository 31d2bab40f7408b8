"""How well an embedder finds held-out anchors' positives: the pairs split by anchor, then the held-out anchors
searched among every text the pairs hold (each anchor's positives relevant), before and after tuning."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import attrs
import numpy as np

from latentstack.data.text_pairs import TextPair
from latentstack.interfaces import Embedder

#: Fewer held-out anchors than this say too little to report; the pairs are then all trained on.
MIN_HELD = 10
#: Anchors searched at most, so that the check costs little beside training.
MAX_HELD = 1000
#: Anchors scored against the corpus at a time (bounds the score matrix).
BLOCK = 1024


def split_by_anchor(pairs: Sequence[TextPair], fraction: float, seed: int) -> tuple[list[TextPair], list[TextPair]]:
    """(train, held): the pairs of a seeded ``fraction`` of the anchors (at most MAX_HELD) held out, or none when
    that is fewer than MIN_HELD anchors."""
    anchors = sorted({p.anchor for p in pairs})
    held_n = min(round(fraction * len(anchors)), MAX_HELD)
    if held_n < MIN_HELD or held_n >= len(anchors):
        return list(pairs), []
    held = set(random.Random(seed).sample(anchors, held_n))
    return [p for p in pairs if p.anchor not in held], [p for p in pairs if p.anchor in held]


@attrs.frozen
class Found:
    """Recall@1, recall@10 and MRR@10 of the held-out anchors among ``texts`` texts."""

    anchors: int
    texts: int
    recall_at_1: float
    recall_at_10: float
    mrr_at_10: float

    def to_dict(self) -> dict[str, float]:
        """The three scores by name, rounded to 4 places."""
        return {"recall@1": round(self.recall_at_1, 4), "recall@10": round(self.recall_at_10, 4),
                "mrr@10": round(self.mrr_at_10, 4)}


def corpus_of(pairs: Sequence[TextPair]) -> list[str]:
    """Every positive and negative of ``pairs``, once each, in first-seen order."""
    return list(dict.fromkeys(t for p in pairs for t in (p.positive, *p.negatives)))


def positives_of(pairs: Sequence[TextPair], where: dict[str, int]) -> dict[str, set[int]]:
    """Each anchor's positives, as their places in the corpus (``where``), anchors in first-seen order."""
    positives: dict[str, set[int]] = {}
    for p in pairs:
        positives.setdefault(p.anchor, set()).add(where[p.positive])
    return positives


def ranked(embedder: Embedder, anchors: Sequence[str], docs: np.ndarray,
           depth: int) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """For each anchor (embedded as a query), the places of its ``depth`` nearest ``docs`` rows (the corpus's
    vectors, embedded as documents) by cosine, and its cosine to every row; BLOCK anchors scored at a time."""
    for start in range(0, len(anchors), BLOCK):
        block = list(anchors[start:start + BLOCK])
        scores = embedder.embed_many(block, kind="query") @ docs.T
        top = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
        yield from zip(block, top, scores, strict=True)


def found(embedder: Embedder, held: Sequence[TextPair], corpus: Sequence[str], docs: np.ndarray | None = None) -> Found:
    """Rank ``corpus`` by cosine for each held-out anchor (embedded as queries, the corpus as documents, unless
    its vectors ``docs`` are given)."""
    relevant = positives_of(held, {text: i for i, text in enumerate(corpus)})
    if docs is None:
        docs = embedder.embed_many(list(corpus), kind="document")
    ranks = [next((r for r, i in enumerate(top, start=1) if i in relevant[a]), 0)
             for a, top, _ in ranked(embedder, list(relevant), docs, 10)]
    hits = np.array(ranks)
    return Found(len(relevant), len(corpus), float(np.mean(hits == 1)), float(np.mean(hits > 0)),
                 float(np.mean([1 / r if r else 0.0 for r in ranks])))
