"""A content-addressed cache of dense embeddings on disk (npy files, never pickles).

The key hashes the embedder's fingerprint and every text, so a second classifier head on
the same embedder and data reads the vectors back instead of running the model again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentstack.atomic import atomic_file
from latentstack.progress import log
from latentstack.sources.base import latentstack_home


def cache_dir() -> Path:
    """``$LATENTSTACK_CACHE`` if set, else ``$LATENTSTACK_HOME/cache/embeddings``."""
    return Path(os.environ.get("LATENTSTACK_CACHE") or latentstack_home() / "cache" / "embeddings")


def cache_key(fingerprint: str, texts: Sequence[str]) -> str:
    """SHA-256 of the fingerprint and the texts (length-prefixed, so no two lists collide)."""
    digest = hashlib.sha256(fingerprint.encode())
    for t in texts:
        b = t.encode("utf-8", "surrogatepass")
        digest.update(len(b).to_bytes(8, "little") + b)
    return digest.hexdigest()


def embed_cached(embedder: Any, texts: Sequence[str]) -> Any:
    """``embedder.embed_many(texts)``, read from or written to the cache (dense embedders only)."""
    if embedder.sparse or os.environ.get("LATENTSTACK_NO_CACHE") == "1":
        return embedder.embed_many(texts)
    path = cache_dir() / f"{cache_key(embedder.fingerprint(), texts)}.npy"
    if path.exists():
        try:
            out = np.load(path, allow_pickle=False)
            if out.shape[0] == len(texts):
                log(f"embeddings: {len(texts)} read from cache")
                return out
        except (OSError, ValueError):
            pass  # a damaged cache file is recomputed and overwritten
    out = embedder.embed_many(texts)
    with atomic_file(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, out, allow_pickle=False)
    return out
