"""The contract a Classifier that learns several labels per text (multi-label) meets."""

from __future__ import annotations

import numpy as np
import pytest

from latentstack.errors import LatentstackError
from latentstack.interfaces import Classifier

#: Support tickets and their tags: some have one, some two, some none.
TICKETS = [
    ("I was charged twice for my subscription this month", ["billing"]),
    ("please refund the duplicate payment on my card", ["billing"]),
    ("my invoice shows the wrong amount", ["billing"]),
    ("why did my card payment fail at checkout", ["billing"]),
    ("I cannot log in, the password reset email never arrives", ["account"]),
    ("my account is locked after too many login attempts", ["account"]),
    ("how do I change the email address on my account", ["account"]),
    ("two-factor login code is not accepted", ["account"]),
    ("my parcel has not arrived after two weeks", ["delivery"]),
    ("the courier left the package at the wrong address", ["delivery"]),
    ("tracking number shows no delivery updates", ["delivery"]),
    ("the box arrived damaged and late", ["delivery"]),
    ("I was charged for an order whose parcel never arrived", ["billing", "delivery"]),
    ("refund me, the package was lost by the courier", ["billing", "delivery"]),
    ("I cannot log in to see my invoice", ["account", "billing"]),
    ("my account was locked and a payment went through anyway", ["account", "billing"]),
    ("thanks, everything works fine now", []),
    ("what are your opening hours on sunday", []),
    ("great service, have a nice weekend", []),
    ("do you have a shop in berlin", []),
]


class MultiLabelClassifierContract:
    """Subclass and provide an untrained ``classifier`` fixture that learns lists of labels."""

    train = TICKETS

    @pytest.fixture
    def classifier(self) -> Classifier:
        """Override: return an untrained classifier."""
        raise NotImplementedError

    @pytest.fixture
    def fitted(self, classifier: Classifier) -> Classifier:
        """The classifier trained on the tickets."""
        return classifier.fit([t for t, _ in self.train], [labels for _, labels in self.train])

    def test_each_label_has_its_own_probability(self, fitted: Classifier) -> None:
        """One column per label, each in [0, 1]: a text can be likely billing and delivery at once."""
        proba = np.asarray(fitted.predict_proba(["refund my payment, the parcel never came", ""]))
        assert fitted.multi_label and fitted.classes == ["account", "billing", "delivery"]
        assert proba.shape == (2, 3) and ((proba >= 0) & (proba <= 1)).all()

    def test_learns_the_labels_of_its_training_set(self, fitted: Classifier) -> None:
        """Most training texts get exactly their labels back, each as a list."""
        got = fitted.predict([t for t, _ in self.train])
        assert all(isinstance(x, list) for x in got)
        assert np.mean([sorted(g) == sorted(labels) for g, (_, labels) in zip(got, self.train, strict=True)]) >= 0.75

    def test_labels_of_its_probabilities_are_its_predictions(self, fitted: Classifier) -> None:
        """``labels_of(predict_proba(texts))`` labels as ``predict(texts)`` does: servers label that way."""
        texts = [t for t, _ in self.train] + ["refund my payment", ""]
        assert fitted.labels_of(fitted.predict_proba(texts)) == fitted.predict(texts)

    def test_save_load_round_trip(self, fitted: Classifier, tmp_path) -> None:  # noqa: ANN001
        """A saved and reloaded classifier is multi-label and gives the same probabilities and labels."""
        fitted.save(tmp_path / "clf")
        again = type(fitted).load(tmp_path / "clf")
        texts = [t for t, _ in self.train]
        assert again.multi_label and again.classes == fitted.classes
        np.testing.assert_allclose(again.predict_proba(texts), fitted.predict_proba(texts), atol=1e-5)
        assert again.predict(texts) == fitted.predict(texts)

    def test_a_label_on_every_text_is_refused(self, classifier: Classifier) -> None:
        """A label that every text holds has no texts to learn its absence from: refused, naming it."""
        with pytest.raises(LatentstackError, match="'urgent'"):
            classifier.fit([t for t, _ in self.train], [[*labels, "urgent"] for _, labels in self.train])
