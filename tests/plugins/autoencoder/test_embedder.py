"""The autoencoder embedder meets the Embedder contract, saves without pickle and refuses a changed input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentstack import get_embedder
from latentstack.errors import CorruptFileError, InputError, ModelMismatchError
from latentstack.testing import EmbedderContract
from latentstack.testing.embedder_contract import TEXTS
from latentstack_autoencoder.embedder import AutoencoderEmbedder

CORPUS = TEXTS * 3 + ["another document about markets and prizes", "the mat was red", "free prize, text now"]
SMALL = {"code": 4, "hidden": (16,), "epochs": 30, "patience": 5, "show_progress": False}


class TestAutoencoder(EmbedderContract):
    """Codes of TF-IDF vectors."""

    @pytest.fixture
    def embedder(self) -> AutoencoderEmbedder:
        """A small autoencoder fitted on a small corpus."""
        return AutoencoderEmbedder.from_options(**SMALL).fit(CORPUS)


def test_saved_files_are_safetensors_and_json(tmp_path: Path) -> None:
    """The folder holds the manifest, the weights in safetensors and the input TF-IDF's own folder; no pickle."""
    emb = AutoencoderEmbedder.from_options(**SMALL).fit(CORPUS)
    emb.save(tmp_path / "ae")
    suffixes = sorted(p.suffix for p in (tmp_path / "ae").rglob("*") if p.is_file())
    assert suffixes == [".json", ".json", ".json", ".npz", ".safetensors"]
    again = AutoencoderEmbedder.load(tmp_path / "ae")
    assert np.array_equal(again.embed_many(CORPUS), emb.embed_many(CORPUS))
    assert again.training_report() == emb.training_report()


def test_report_compares_with_pca(tmp_path: Path) -> None:
    """fit reports the held-out reconstruction error beside PCA's at the same code size."""
    report = AutoencoderEmbedder.from_options(**SMALL).fit(CORPUS).training_report()
    assert report["reconstruction_mse"] > 0 and report["pca_mse"] > 0
    assert 1 <= report["best_epoch"] <= report["epochs_run"] <= SMALL["epochs"]


def test_seeded() -> None:
    """The same seed gives the same codes; another seed other codes."""
    a = AutoencoderEmbedder.from_options(**SMALL).fit(CORPUS).embed_many(CORPUS)
    b = AutoencoderEmbedder.from_options(**SMALL).fit(CORPUS).embed_many(CORPUS)
    c = AutoencoderEmbedder.from_options(**SMALL, seed=1).fit(CORPUS).embed_many(CORPUS)
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_over_a_dense_encoder(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """input=bert compresses the encoder's vectors; a different encoder at load time is a ModelMismatchError."""
    emb = get_embedder("autoencoder", input="bert", input_options={"model": str(tiny_bert_dir)}, **SMALL).fit(CORPUS)
    assert emb.embed_many(CORPUS).shape == (len(CORPUS), 4)
    emb.save(tmp_path / "ae")
    assert not (tmp_path / "ae" / "input").exists()  # a pretrained input is named, not copied
    assert np.allclose(AutoencoderEmbedder.load(tmp_path / "ae").embed_many(CORPUS), emb.embed_many(CORPUS), atol=1e-5)
    other = get_embedder("autoencoder", input="bert", input_options={"model": str(tiny_bert_dir), "pooling": "cls"},
                         **SMALL)
    other.input, other.codec = emb.input, emb.codec  # the saved weights under a manifest naming another pooling
    other.save(tmp_path / "changed")
    with pytest.raises(ModelMismatchError, match="fit again"):
        AutoencoderEmbedder.load(tmp_path / "changed")


def test_bad_input_and_damage(tmp_path: Path) -> None:
    """Too few texts, an unfitted embedder and a truncated weights file are one-line errors."""
    with pytest.raises(InputError, match="at least 4 texts"):
        AutoencoderEmbedder.from_options(**SMALL).fit(["a", "b"])
    with pytest.raises(InputError, match="not fitted"):
        AutoencoderEmbedder().embed_many(["x"])
    AutoencoderEmbedder.from_options(**SMALL).fit(CORPUS).save(tmp_path / "ae")
    weights = tmp_path / "ae" / "codec.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CorruptFileError) as err:
        AutoencoderEmbedder.load(tmp_path / "ae")
    assert "\n" not in str(err.value)


def test_wrong_option_types() -> None:
    """Hidden sizes must be positive whole numbers (one number is one layer); an unknown input embedder is the
    registry's one-line error."""
    from latentstack.errors import ConfigError

    with pytest.raises(ConfigError):
        AutoencoderEmbedder.from_options(hidden=(16, 0))
    with pytest.raises(ConfigError, match="hidden layer sizes are whole numbers, e.g. 256,128; got 'x'"):
        AutoencoderEmbedder.from_options(hidden="x")
    assert AutoencoderEmbedder.from_options(hidden=64).config.hidden == (64,)  # -o hidden=64 gives an int
    assert AutoencoderEmbedder.from_options(hidden="64,32").config.hidden == (64, 32)
    with pytest.raises(Exception, match="nope"):
        AutoencoderEmbedder.from_options(input="nope", **SMALL).fit(CORPUS)


def test_show_progress_false_silences_the_training_bar(capfd: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The epoch bar ignored show_progress (only -q silenced it)."""
    monkeypatch.delenv("LATENTSTACK_QUIET", raising=False)
    AutoencoderEmbedder.from_options(**{**SMALL, "show_progress": True}).fit(CORPUS)
    assert "epoch" in capfd.readouterr().err
    AutoencoderEmbedder.from_options(**SMALL).fit(CORPUS)
    assert capfd.readouterr().err == ""
