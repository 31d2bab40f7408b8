"""The finetune plugin with several labels per text, on a tiny BERT: a yes/no output per label (binary
cross-entropy) through the mean head and transformers' [CLS] head, validated on a random split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentstack.testing import MultiLabelClassifierContract
from latentstack.testing.multilabel_contract import TICKETS
from latentstack_finetune.classifier import FinetuneClassifier
from latentstack_finetune.training import validation_score


class TestLoraMean(MultiLabelClassifierContract):
    """LoRA on a tiny BERT, mean-pooled head."""

    @pytest.fixture
    def classifier(self, tiny_bert_dir: Path) -> FinetuneClassifier:
        """Untrained, many epochs at a high rate so the tickets are learnt."""
        return FinetuneClassifier.from_options(model=str(tiny_bert_dir), mode="lora", epochs=40, lr=2e-2,
                                               batch_size=4, val_fraction=0.0, patience=99)


class TestFullCls(MultiLabelClassifierContract):
    """Full fine-tuning with transformers' [CLS] head (its multi_label_classification loss)."""

    @pytest.fixture
    def classifier(self, tiny_bert_dir: Path) -> FinetuneClassifier:
        """Untrained, [CLS] pooling."""
        return FinetuneClassifier.from_options(model=str(tiny_bert_dir), mode="full", pooling="cls", epochs=40,
                                               lr=2e-3, batch_size=4, val_fraction=0.0, patience=99)


def test_a_validation_split_scores_labels_by_micro_f1(tiny_bert_dir: Path) -> None:
    """With a validation share, each epoch is scored by the labels' micro-F1 and binary cross-entropy, and the
    best epoch is reported as such."""
    clf = FinetuneClassifier.from_options(model=str(tiny_bert_dir), mode="lora", epochs=2, lr=1e-2, batch_size=4,
                                          val_fraction=0.25, patience=99)
    clf.fit([t for t, _ in TICKETS], [labels for _, labels in TICKETS])
    assert all("val_micro_f1" in row and "val_macro_f1" not in row for row in clf.report["history"])
    assert "best_val_micro_f1" in clf.report


def test_the_multi_label_validation_score_is_micro_f1_and_binary_cross_entropy() -> None:
    """Two texts, two labels: three of four decisions right at 0.5, worked out by hand."""
    y = np.array([[1, 0], [1, 1]], dtype=np.float32)
    proba = np.array([[0.9, 0.2], [0.6, 0.4]])
    f1, loss = validation_score(y, proba)
    assert f1 == pytest.approx(2 * 2 / (2 + 3))  # 2 right of 2 said and 3 true
    assert loss == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.6, 0.4])))
