"""Autoencoder codes anywhere an embedder goes: features of the linear classifier, saved and reloaded with it."""

from __future__ import annotations

from pathlib import Path

from latentstack import get_classifier, load_classifier
from latentstack.data.labeled import load_labeled

from ...core.bench.test_classify_suite import write_fixture


def test_linear_head_on_codes(tmp_path: Path) -> None:
    """Fitted inside the classifier on its training texts; the reloaded classifier predicts the same."""
    write_fixture(tmp_path / "topics.tsv")
    splits = load_labeled(tmp_path / "topics.tsv")
    train, test = splits["train"], splits["test"]
    clf = get_classifier("linear", embedder="autoencoder",
                         embedder_options={"code": 8, "hidden": (32,), "epochs": 150, "show_progress": False})
    clf.fit(train.texts, train.labels)
    pred = clf.predict(test.texts)
    assert sum(p == g for p, g in zip(pred, test.labels, strict=True)) / len(pred) > 0.6  # three classes: chance 1/3
    clf.save(tmp_path / "clf")
    assert load_classifier(tmp_path / "clf").predict(test.texts) == pred
