"""The mean head starts as a logistic regression on the frozen encoder's features (LP-FT)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from latentstack.testing.classifier_contract import TRAIN
from latentstack_finetune.classifier import FinetuneClassifier
from latentstack_finetune.probe import C, features, probe_head

TEXTS = [t for t, _ in TRAIN]


def network(tiny: Path, labels: list[str]) -> tuple[FinetuneClassifier, object]:
    clf = FinetuneClassifier.from_options(model=str(tiny), val_fraction=0.0)
    clf.classes = sorted(set(labels))
    clf.net = clf._network()
    return clf, clf.net


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_probed_head_gives_the_regressions_probabilities(tiny_bert_dir: Path, n_classes: int) -> None:
    """Before any training the network's softmax is scikit-learn's class-balanced regression on the mean states."""
    labels = [str(i % n_classes) for i in range(len(TEXTS))]
    clf, net = network(tiny_bert_dir, labels)
    y = np.array([clf.classes.index(lab) for lab in labels])
    probe_head(net, clf.encode, TEXTS, y, seed=0)
    x = features(net, clf.encode, TEXTS)
    expected = LogisticRegression(C=C, class_weight="balanced", max_iter=2000).fit(x, y).predict_proba(x)
    np.testing.assert_allclose(clf.predict_proba(TEXTS), expected, atol=1e-4)


def test_a_label_on_every_text_keeps_its_rate(tiny_bert_dir: Path) -> None:
    """Several labels per text: a regression per label; a label every text has cannot be fitted, and is sure."""
    clf, net = network(tiny_bert_dir, ["a", "b"])
    y = np.array([[1.0, float(i % 2)] for i in range(len(TEXTS))], dtype=np.float32)
    probe_head(net, clf.encode, TEXTS, y, seed=0)
    clf.multi_label = True
    proba = clf.predict_proba(TEXTS)
    assert np.all(proba[:, 0] > 0.99)
    x = features(net, clf.encode, TEXTS)
    expected = LogisticRegression(C=C, class_weight="balanced", max_iter=2000).fit(x, y[:, 1]).predict_proba(x)[:, 1]
    np.testing.assert_allclose(proba[:, 1], expected, atol=1e-4)


def test_fit_starts_from_the_probe_and_keeps_it_when_training_is_worse(tiny_bert_dir: Path) -> None:
    """A learning rate that wrecks the encoder leaves the probed head's weights (epoch 0) in place; head="random"
    starts from a random head and has no epoch 0."""
    texts, labels = [t for t, _ in TRAIN] * 3, [lab for _, lab in TRAIN] * 3
    wreck = {"model": str(tiny_bert_dir), "lr": 5.0, "epochs": 2, "val_fraction": 0.3, "patience": 5}
    clf = FinetuneClassifier.from_options(**wreck).fit(texts, labels)
    history = clf.training_report()["history"]
    assert history[0]["epoch"] == 0 and clf.report["best_epoch"] == 0, history
    plain = FinetuneClassifier.from_options(**wreck, head="random").fit(texts, labels)
    assert plain.training_report()["history"][0]["epoch"] == 1


def test_a_classifier_saved_before_heads_were_probed_loads_as_it_was(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A manifest without ``head`` is a raw-mean head (as saved before): its predictions come back unchanged; the
    probed head reads the mean at unit length, and saves and loads as such."""
    import json

    from latentstack.storage import _digest

    texts, labels = [t for t, _ in TRAIN], [lab for _, lab in TRAIN]
    old = FinetuneClassifier.from_options(model=str(tiny_bert_dir), head="random", epochs=2, val_fraction=0.0)
    old.fit(texts, labels).save(tmp_path / "old")
    manifest = tmp_path / "old" / "manifest.json"
    data = json.loads(manifest.read_text())
    del data["config"]["head"]
    manifest.write_text(json.dumps({**data, "digest": _digest(data)}))  # as an older release wrote it
    loaded = FinetuneClassifier.load(tmp_path / "old")
    assert loaded.config.head == "random" and not loaded.net.unit
    np.testing.assert_allclose(loaded.predict_proba(texts), old.predict_proba(texts), atol=1e-6)
    new = FinetuneClassifier.from_options(model=str(tiny_bert_dir), epochs=2, val_fraction=0.0).fit(texts, labels)
    new.save(tmp_path / "new")
    again = FinetuneClassifier.load(tmp_path / "new")
    assert again.net.unit and again.config.head == "probe"
    np.testing.assert_allclose(again.predict_proba(texts), new.predict_proba(texts), atol=1e-6)
