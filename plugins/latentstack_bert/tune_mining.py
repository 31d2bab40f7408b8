"""Hard negatives mined by the embedder before tuning (sentence-transformers' ``mine_hard_negatives``): for
each anchor, the texts of the pairs it ranks highest that are not its positives, leaving out any it scores
within a relative margin of the positive (more likely a positive the pairs do not name than a negative;
NV-Retriever's rule)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from latentstack.data.text_pairs import TextPair
from latentstack.interfaces import Embedder
from latentstack_bert.tune_eval import positives_of, ranked

#: A mined text must score below the positive's cosine times (1 - MARGIN).
MARGIN = 0.05


def with_mined_negatives(embedder: Embedder, pairs: Sequence[TextPair], corpus: Sequence[str], docs: np.ndarray,
                         n: int) -> list[TextPair]:
    """``pairs`` with up to ``n`` mined negatives each, after the negatives they name; ``docs`` are the corpus's
    vectors (embedded as documents)."""
    where = {text: i for i, text in enumerate(corpus)}
    positives = positives_of(pairs, where)
    depth = min(len(corpus), n + max(map(len, positives.values())) + 16)
    ranking = {anchor: (top, row) for anchor, top, row in ranked(embedder, list(positives), docs, depth)}
    return [_mined(p, *ranking[p.anchor], positives[p.anchor], where, corpus, n) for p in pairs]


def _mined(pair: TextPair, order: np.ndarray, scores: np.ndarray, positives: set[int], where: dict[str, int],
           corpus: Sequence[str], n: int) -> TextPair:
    """One pair with the first ``n`` ranked texts that are neither its anchor's positives nor within the margin."""
    bar = scores[where[pair.positive]] * (1 - MARGIN)
    named = set(pair.negatives)
    found = [corpus[i] for i in order
             if i not in positives and scores[i] < bar and corpus[i] not in named and corpus[i] != pair.anchor][:n]
    return TextPair(pair.anchor, pair.positive, (*pair.negatives, *found))
