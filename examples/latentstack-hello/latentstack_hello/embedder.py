"""A hashing-trick embedder: character trigrams into ``dim`` buckets, L2-normalised."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import attrs
import numpy as np

from latentstack.interfaces import Embedder, EmbedderConfig


@attrs.frozen(kw_only=True)
class HashConfig(EmbedderConfig):
    """How many buckets to hash into."""

    dim: int = attrs.field(default=64, validator=attrs.validators.gt(0))


class HashEmbedder(Embedder):
    """Counts hashed character trigrams: deterministic, instant, no model needed."""

    name = "hello-hash"
    Config = HashConfig
    config: HashConfig

    @property
    def dim(self) -> int:
        """Number of hash buckets."""
        return self.config.dim

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised trigram-count row per text."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f"  {text.lower()} "
            for i in range(len(padded) - 2):
                out[row, zlib.crc32(padded[i : i + 3].encode()) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)
