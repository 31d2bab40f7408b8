"""The query that finds documents like a stored one ("more like this", as ``llm similar`` and txtai find them).

The stored document's passages are embedded again as documents, as the index's vectors were
(so any Index plugin serves, whether or not it can give a vector back), and their mean is the
query: a one-passage document is found by its own vector. ``Collection.similar`` searches with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def document_vector(embedder: Any, passages: Sequence[str]) -> np.ndarray:
    """The mean of the passages' vectors embedded as documents (unit length where theirs are)."""
    vectors = np.asarray(embedder.embed_many(list(passages), "document"), dtype=np.float32)
    mean = vectors.mean(axis=0)
    unit = np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    return mean / max(float(np.linalg.norm(mean)), 1e-12) if unit else mean
