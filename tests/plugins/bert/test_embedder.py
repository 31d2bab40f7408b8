"""The bert plugin: contract on a tiny random BERT; real MiniLM against sentence-transformers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentstack.testing import EmbedderContract
from latentstack_bert.embedder import BertEmbedder

REFERENCE = Path(__file__).parent / "data" / "minilm_reference.json"


class TestTinyBertMean(EmbedderContract):
    """Mean pooling on a 2-layer random BERT."""

    @pytest.fixture
    def embedder(self, tiny_bert_dir: Path) -> BertEmbedder:
        """Tiny BERT, mean pooling, batch size 2 so batching and sorting are exercised."""
        return BertEmbedder.from_options(model=str(tiny_bert_dir), pooling="mean", batch_size=2, dtype="float32")


class TestTinyBertCls(EmbedderContract):
    """CLS pooling, unnormalised, short max_length (truncation)."""

    @pytest.fixture
    def embedder(self, tiny_bert_dir: Path) -> BertEmbedder:
        """Tiny BERT, CLS pooling, no normalisation, 8 tokens at most."""
        return BertEmbedder.from_options(model=str(tiny_bert_dir), pooling="cls", normalize=False, max_length=8,
                                         dtype="float32")


def test_pooling_changes_vectors(tiny_bert_dir: Path) -> None:
    """cls and mean pooling give different vectors and different fingerprints."""
    a = BertEmbedder.from_options(model=str(tiny_bert_dir), pooling="cls")
    b = BertEmbedder.from_options(model=str(tiny_bert_dir), pooling="mean")
    assert not np.allclose(a.embed("the cat"), b.embed("the cat"))
    assert a.fingerprint() != b.fingerprint()


@pytest.mark.slow
def test_minilm_matches_sentence_transformers() -> None:
    """Mean-pooled, normalised MiniLM matches sentence-transformers to cosine >= 0.9999.

    Reference vectors were computed once with sentence-transformers on the same
    packaged model (long text included, so truncation at 256 tokens is checked too);
    when sentence-transformers is installed the test also compares against it live.
    """
    ref = json.loads(REFERENCE.read_text())
    ours = BertEmbedder.from_options(model="minilm", pooling="mean", dtype="float32").embed_many(ref["texts"])
    cos = (ours * np.array(ref["vectors"], dtype=np.float32)).sum(axis=1)
    assert cos.min() >= 0.9999, cos
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return
    import latentstack

    st = SentenceTransformer(str(latentstack.resolve_model("minilm").path), device="cpu")
    live = st.encode(ref["texts"], normalize_embeddings=True)
    assert (ours * live).sum(axis=1).min() >= 0.9999


@pytest.mark.slow
def test_the_default_runtime_keeps_parity_with_the_reference() -> None:
    """The default (dtype auto: bf16 where the CPU has bf16 units and the probe held) stays at mean cosine
    >= 0.9999 against the sentence-transformers reference, whichever dtype it picked on this CPU."""
    ref = json.loads(REFERENCE.read_text())
    emb = BertEmbedder.from_options(model="minilm")
    cos = (emb.embed_many(ref["texts"]) * np.array(ref["vectors"], dtype=np.float32)).sum(axis=1)
    assert cos.mean() >= 0.9999 and cos.min() >= 0.999, (emb.runtime_info(), cos)


def test_an_adapter_trained_again_in_its_folder_changes_the_fingerprint(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """The fingerprint follows the adapter's weights, not its path: an index built before is then told apart."""
    from tests.plugins.encoder_lora import save_encoder_lora

    base = BertEmbedder.from_options(model=str(tiny_bert_dir), dtype="float32")

    def train(seed: int) -> str:
        save_encoder_lora(tiny_bert_dir, tmp_path / "adapter", base.resolved.fingerprint(), seed)
        return BertEmbedder.from_options(model=str(tiny_bert_dir), adapter=str(tmp_path / "adapter")).fingerprint()

    first, again, other = train(0), train(0), train(1)
    assert first == again and first != other and base.fingerprint() not in (first, other)
