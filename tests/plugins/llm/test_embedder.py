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
        return LlmEmbedder.from_options(model=str(tiny_llama_dir), batch_size=2, dtype="float32")


class TestTinyLlamaLast(EmbedderContract):
    """Last-token pooling, unnormalised, truncated at 8 tokens."""

    @pytest.fixture
    def embedder(self, tiny_llama_dir: Path) -> LlmEmbedder:
        return LlmEmbedder.from_options(model=str(tiny_llama_dir), pooling="last", normalize=False, max_length=8,
                                        batch_size=2, dtype="float32")


def test_last_token_pooling_ignores_right_padding(tiny_llama_dir: Path) -> None:
    """A short text's vector is the same alone and in a batch padded for a long one."""
    emb = LlmEmbedder.from_options(model=str(tiny_llama_dir), pooling="last", dtype="float32")
    alone = emb.embed_many(["the cat"])[0]
    padded = emb.embed_many(["the cat", "the cat sat on the mat and then the cat sat again"])[0]
    np.testing.assert_allclose(alone, padded, atol=1e-5)


def test_auto_runs_the_dtype_the_cpu_and_the_probe_chose(tiny_llama_dir: Path) -> None:
    """dtype "auto" (the default) is float32 without bf16 units; with them, bf16 exactly when the probe found it
    within the cosine floors and faster; either way the vectors are those of the dtype it names, and the reason says why."""
    from latentstack.runtime import FASTER, MEAN_FLOOR, MIN_FLOOR, bf16_units, cpu_key

    emb = LlmEmbedder.from_options(model=str(tiny_llama_dir))
    choice = emb.runtime
    if not bf16_units(cpu_key()[1]):
        assert choice.dtype == "float32" and "no bf16 units" in choice.reason
    else:
        assert choice.cosine_mean is not None and choice.cosine_min is not None, choice
        assert choice.bf16_speedup is not None, choice
        held = choice.cosine_mean >= MEAN_FLOOR and choice.cosine_min >= MIN_FLOOR and choice.bf16_speedup >= 1 / FASTER
        assert choice.dtype == ("bfloat16" if held else "float32") and "probe:" in choice.reason
    assert emb.runtime_info() == {"dtype": choice.dtype, "reason": choice.reason}
    texts = ["the cat sat", "a longer text about dogs and cats"]
    explicit = LlmEmbedder.from_options(model=str(tiny_llama_dir), dtype=choice.dtype)
    np.testing.assert_array_equal(emb.embed_many(texts), explicit.embed_many(texts))
