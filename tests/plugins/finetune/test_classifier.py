"""The finetune plugin on a tiny BERT: contract for lora and full; what is saved; wrong base model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from latentstack.errors import ModelMismatchError
from latentstack.storage import read_manifest
from latentstack.testing import ClassifierContract
from latentstack.testing.classifier_contract import TRAIN
from latentstack_finetune.classifier import FinetuneClassifier


class TestLora(ClassifierContract):
    """LoRA fine-tuning of a tiny BERT."""

    @pytest.fixture
    def classifier(self, tiny_bert_dir: Path) -> FinetuneClassifier:
        """Untrained, 15 epochs at a high rate so the tiny set is learnt."""
        return FinetuneClassifier.from_options(model=str(tiny_bert_dir), mode="lora", epochs=15, lr=1e-2,
                                               batch_size=4, val_fraction=0.0, patience=99)


class TestLoraCls(ClassifierContract):
    """LoRA with transformers' [CLS] head (the head saved inside the adapter)."""

    @pytest.fixture
    def classifier(self, tiny_bert_dir: Path) -> FinetuneClassifier:
        """Untrained, [CLS] pooling."""
        return FinetuneClassifier.from_options(model=str(tiny_bert_dir), mode="lora", pooling="cls", epochs=15,
                                               lr=1e-2, batch_size=4, val_fraction=0.0, patience=99)


class TestFullMean(ClassifierContract):
    """Full fine-tuning with the mean-pooling head."""

    @pytest.fixture
    def classifier(self, tiny_bert_dir: Path) -> FinetuneClassifier:
        """Untrained, all weights, mean pooling."""
        return FinetuneClassifier.from_options(model=str(tiny_bert_dir), mode="full", pooling="mean", epochs=15,
                                               lr=1e-3, batch_size=4, val_fraction=0.0, patience=99)


class TestFull(ClassifierContract):
    """Full fine-tuning of a tiny BERT."""

    @pytest.fixture
    def classifier(self, tiny_bert_dir: Path) -> FinetuneClassifier:
        """Untrained, all weights."""
        return FinetuneClassifier.from_options(model=str(tiny_bert_dir), mode="full", epochs=15, lr=1e-3,
                                               batch_size=4, val_fraction=0.0, patience=99)


def test_lora_saves_only_adapter(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """The lora folder holds the PEFT adapter (with the head) and a manifest, no model copy."""
    texts, labels = map(list, zip(*TRAIN))
    clf = FinetuneClassifier.from_options(model=str(tiny_bert_dir), epochs=1, val_fraction=0.0).fit(texts, labels)
    trainable, total = clf.parameter_counts()
    assert trainable < total / 5
    clf.save(tmp_path / "c")
    names = {p.name for p in (tmp_path / "c").rglob("*") if p.is_file()}
    assert "adapter_model.safetensors" in names and "model.safetensors" not in names
    manifest = read_manifest(tmp_path / "c", kind="classifier")
    assert manifest.data["classes"] == ["ham", "spam"] and manifest.config["mode"] == "lora"
    assert "head.safetensors" in names  # the mean head beside a plain encoder adapter


def test_lora_adapter_is_a_plain_encoder_adapter(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """The classifier's adapter loads into the bert embedder and changes its vectors (and exports to ONNX)."""
    import numpy as np

    from latentstack import get_embedder

    texts, labels = map(list, zip(*TRAIN))
    clf = FinetuneClassifier.from_options(model=str(tiny_bert_dir), epochs=3, lr=5e-2, val_fraction=0.0)
    clf.fit(texts, labels).save(tmp_path / "c")
    plain = get_embedder("bert", model=str(tiny_bert_dir)).embed_many(texts[:4])
    adapted = get_embedder("bert", model=str(tiny_bert_dir), adapter=str(tmp_path / "c" / "adapter")).embed_many(texts[:4])
    assert plain.shape == adapted.shape and not np.allclose(plain, adapted, atol=1e-4)
    again = FinetuneClassifier.load(tmp_path / "c")
    np.testing.assert_allclose(again.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)


def test_other_base_model_is_refused(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Loading onto a base model whose weights changed is a ModelMismatchError."""
    import shutil

    from latentstack.testing.tiny_models import save_tiny_bert

    base = tmp_path / "base"
    shutil.copytree(tiny_bert_dir, base)
    texts, labels = map(list, zip(*TRAIN))
    FinetuneClassifier.from_options(model=str(base), epochs=1, val_fraction=0.0).fit(texts, labels).save(tmp_path / "c")
    save_tiny_bert(base, seed=3)
    with pytest.raises(ModelMismatchError, match="base model"):
        FinetuneClassifier.load(tmp_path / "c")




def test_lora_options_with_full_training_are_refused() -> None:
    """rank, alpha and targets were ignored by mode=full; a rank of 0 failed inside PEFT."""
    from latentstack import get_classifier
    from latentstack.errors import ConfigError

    with pytest.raises(ConfigError, match="rank sets the LoRA adapter, and mode=full trains every weight"):
        get_classifier("finetune", mode="full", rank=4)
    with pytest.raises(ConfigError, match="'rank' must be > 0"):
        get_classifier("finetune", rank=0)
    assert get_classifier("finetune", mode="full").config.mode == "full"


def test_a_stop_after_an_epoch_saves_the_classifier_as_trained_so_far(tiny_bert_dir: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C or SIGTERM in epoch 3 of 5: the classifier of epoch 2 is what fit returns, saves and loads."""
    import latentstack_finetune.training as training
    from latentstack import load_classifier

    real, done = training._Step.epoch, []

    def stopping(self: Any, *args: Any) -> None:
        done.append(args)
        if len(done) == 3:
            raise KeyboardInterrupt
        real(self, *args)

    monkeypatch.setattr(training._Step, "epoch", stopping)
    texts, labels = map(list, zip(*TRAIN, strict=True))
    clf = FinetuneClassifier.from_options(model=str(tiny_bert_dir), epochs=5, lr=1e-2, batch_size=4, val_fraction=0.0)
    clf.fit(texts, labels).save(tmp_path / "clf")
    report = read_manifest(tmp_path / "clf", kind="classifier").data["report"]
    assert report["stopped_during_epoch"] == 3 and report["best_epoch"] == 2
    assert load_classifier(tmp_path / "clf").predict(texts[:2]) == clf.predict(texts[:2])
