"""The finetune plugin on a tiny BERT: contract for lora and full; what is saved; wrong base model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from latentstack.errors import ModelMismatchError
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
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["classes"] == ["ham", "spam"] and manifest["config"]["mode"] == "lora"


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
