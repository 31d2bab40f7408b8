"""The llm embedder: contract on a tiny random Llama; pooling choices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentstack.testing import EmbedderContract
from latentstack_llm.embedder import LlmEmbedder


class TestTinyLlamaMean(EmbedderContract):
    """Mean pooling, batch size 2 so that sorting and padding are exercised."""

    @pytest.fixture
    def embedder(self, tiny_llama_dir: Path) -> LlmEmbedder:
        return LlmEmbedder.from_options(model=str(tiny_llama_dir), batch_size=2)


class TestTinyLlamaLast(EmbedderContract):
    """Last-token pooling, unnormalised, truncated at 8 tokens."""

    @pytest.fixture
    def embedder(self, tiny_llama_dir: Path) -> LlmEmbedder:
        return LlmEmbedder.from_options(model=str(tiny_llama_dir), pooling="last", normalize=False, max_length=8,
                                        batch_size=2)


def test_last_token_pooling_ignores_right_padding(tiny_llama_dir: Path) -> None:
    """A short text's vector is the same alone and in a batch padded for a long one."""
    emb = LlmEmbedder.from_options(model=str(tiny_llama_dir), pooling="last")
    alone = emb.embed_many(["the cat"])[0]
    padded = emb.embed_many(["the cat", "the cat sat on the mat and then the cat sat again"])[0]
    np.testing.assert_allclose(alone, padded, atol=1e-5)
