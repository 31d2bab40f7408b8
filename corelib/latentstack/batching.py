"""Embedding in length-sorted batches: little padding per batch, rows back in input order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from latentstack.progress import progress


def embed_by_length(texts: Sequence[str], batch_size: int, dim: int, encode: Callable[[list[str]], np.ndarray],
                    *, show: bool = True, desc: str = "embedding") -> np.ndarray:
    """Call ``encode`` on batches of texts sorted longest first; return float32 rows in input order.

    A progress bar appears when ``show`` and there are more than four batches.
    """
    out = np.zeros((len(texts), dim), dtype=np.float32)
    if not texts:
        return out
    order = np.argsort([-len(t) for t in texts], kind="stable")
    starts = range(0, len(texts), batch_size)
    for start in progress(starts, desc=desc, total=len(starts), enabled=show and len(starts) > 4, unit="batch"):
        idx = order[start: start + batch_size]
        out[idx] = encode([texts[i] for i in idx])
    return out
