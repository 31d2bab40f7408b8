"""Hard negatives mined by the embedder before tuning (sentence-transformers' ``mine_hard_negatives``): for
each anchor, the texts of the pairs it ranks highest that are not its positives, leaving out any it scores
within a relative margin of the positive (more likely a positive the pairs do not name than a negative;
NV-Retriever's rule)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from latentstack.data.text_pairs import TextPair
from latentstack.interfaces import Embedder

#: A mined text must score below the positive's cosine times (1 - MARGIN).
MARGIN = 0.05
#: Anchors scored against the corpus at a time (bounds the score matrix).
BLOCK = 1024


def with_mined_negatives(embedder: Embedder, pairs: Sequence[TextPair], corpus: Sequence[str],
                         n: int) -> list[TextPair]:
    """``pairs`` with up to ``n`` mined negatives each, after the negatives they name."""
    anchors = list(dict.fromkeys(p.anchor for p in pairs))
    where = {text: i for i, text in enumerate(corpus)}
    positives: dict[str, set[int]] = {}
    for p in pairs:
        positives.setdefault(p.anchor, set()).add(where[p.positive])
    docs = embedder.embed_many(list(corpus), kind="document")
    ranked: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for start in range(0, len(anchors), BLOCK):
        block = anchors[start:start + BLOCK]
        scores = embedder.embed_many(block, kind="query") @ docs.T
        depth = min(len(corpus), n + max(len(positives[a]) for a in block) + 16)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
        for anchor, row, order in zip(block, scores, top, strict=True):
            ranked[anchor] = (order, row)
    return [_mined(p, *ranked[p.anchor], positives[p.anchor], where, corpus, n) for p in pairs]


def _mined(pair: TextPair, order: np.ndarray, scores: np.ndarray, positives: set[int], where: dict[str, int],
           corpus: Sequence[str], n: int) -> TextPair:
    """One pair with the first ``n`` ranked texts that are neither its anchor's positives nor within the margin."""
    bar = scores[where[pair.positive]] * (1 - MARGIN)
    named = set(pair.negatives)
    found = [corpus[i] for i in order
             if i not in positives and scores[i] < bar and corpus[i] not in named and corpus[i] != pair.anchor][:n]
    return TextPair(pair.anchor, pair.positive, (*pair.negatives, *found))
