"""The contract every Classifier meets."""

from __future__ import annotations

import numpy as np
import pytest

from latentstack.errors import LatentstackError
from latentstack.interfaces import Classifier
from latentstack.testing.folder_checks import assert_damage_is_one_line, assert_missing_parts_name_the_folder

TRAIN = [
    ("win a free prize now, text WIN", "spam"),
    ("free entry to win cash, claim now", "spam"),
    ("urgent! you have won a prize, call now", "spam"),
    ("claim your free ringtone, text now", "spam"),
    ("are we still meeting for lunch today?", "ham"),
    ("i'll be home late, see you tonight", "ham"),
    ("can you pick up milk on the way back", "ham"),
    ("thanks for dinner yesterday, it was lovely", "ham"),
]


class ClassifierContract:
    """Subclass and provide an untrained ``classifier`` fixture."""

    train = TRAIN

    @pytest.fixture
    def classifier(self) -> Classifier:
        """Override: return an untrained classifier."""
        raise NotImplementedError

    @pytest.fixture
    def fitted(self, classifier: Classifier) -> Classifier:
        """The classifier trained on the tiny spam set."""
        texts, labels = zip(*self.train, strict=False)
        return classifier.fit(list(texts), list(labels))

    def test_proba_shape(self, fitted: Classifier) -> None:
        """predict_proba has one row per text, one column per class, rows summing to 1."""
        proba = np.asarray(fitted.predict_proba(["free prize", "see you at lunch", ""]))
        assert proba.shape == (3, len(fitted.classes))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
        assert sorted(fitted.classes) == ["ham", "spam"]

    def test_learns_training_set(self, fitted: Classifier) -> None:
        """It gets most of its own training texts right."""
        texts, labels = zip(*self.train, strict=False)
        assert np.mean(np.array(fitted.predict(list(texts))) == np.array(labels)) >= 0.75

    def test_short_texts_are_not_counted_as_cut(self, fitted: Classifier) -> None:
        """``count_truncated`` counts none of a few short texts (the classify commands' notice would be wrong)."""
        assert fitted.count_truncated(["free prize", "see you at lunch", ""]) == 0

    def test_labels_of_its_probabilities_are_its_predictions(self, fitted: Classifier) -> None:
        """``labels_of(predict_proba(texts))`` labels as ``predict(texts)`` does: servers label that way."""
        texts = [t for t, _ in self.train] + ["free prize", ""]
        assert fitted.labels_of(fitted.predict_proba(texts)) == fitted.predict(texts)

    def test_save_load_round_trip(self, fitted: Classifier, tmp_path) -> None:  # noqa: ANN001
        """A saved and reloaded classifier gives the same probabilities."""
        fitted.save(tmp_path / "clf")
        again = type(fitted).load(tmp_path / "clf")
        texts = [t for t, _ in self.train]
        np.testing.assert_allclose(again.predict_proba(texts), fitted.predict_proba(texts), atol=1e-5)

    def test_one_class_raises(self, classifier: Classifier) -> None:
        """Training labels with a single class are refused clearly."""
        with pytest.raises(LatentstackError, match="class"):
            classifier.fit(["a", "b", "c"], ["x", "x", "x"])

    def test_damaged_folder_is_one_line_error(self, fitted: Classifier, tmp_path) -> None:  # noqa: ANN001
        """Each saved file truncated, garbled, replaced by wrong-shape JSON or deleted: one clear line; a saved part
        inside it deleted: the error says the folder is incomplete."""
        fitted.save(tmp_path / "clf")
        assert_damage_is_one_line(tmp_path / "clf", tmp_path / "damaged", type(fitted).load)
        assert_missing_parts_name_the_folder(tmp_path / "clf", tmp_path / "parts", type(fitted).load)
