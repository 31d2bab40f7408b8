"""The linear plugin with several labels per text: one yes/no head per label, on TF-IDF, naive Bayes, a hybrid and
the real MiniLM."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentstack.errors import CorruptFileError, InputError
from latentstack.testing import MultiLabelClassifierContract
from latentstack.testing.multilabel_contract import TICKETS
from latentstack_linear.classifier import LinearClassifier

TEXTS, LABELS = [t for t, _ in TICKETS], [labels for _, labels in TICKETS]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """Each test gets its own embedding cache."""
    monkeypatch.setenv("LATENTSTACK_CACHE", str(tmp_path / "cache"))


class TestTfidfLogistic(MultiLabelClassifierContract):
    """A logistic head per label on TF-IDF."""

    @pytest.fixture
    def classifier(self) -> LinearClassifier:
        """Untrained tfidf+logistic."""
        return LinearClassifier.from_options(embedder="tfidf")


class TestTfidfNaiveBayes(MultiLabelClassifierContract):
    """A naive Bayes head per label on TF-IDF."""

    @pytest.fixture
    def classifier(self) -> LinearClassifier:
        """Untrained tfidf+nb."""
        return LinearClassifier.from_options(embedder="tfidf", head="nb")


class TestHybridTinyBert(MultiLabelClassifierContract):
    """Tiny-BERT features beside TF-IDF under each label's head."""

    @pytest.fixture
    def classifier(self, tiny_bert_dir: Path) -> LinearClassifier:
        """Untrained hybrid on a tiny random BERT."""
        return LinearClassifier.from_options(embedder="bert", embedder_options={"model": str(tiny_bert_dir)},
                                             hybrid=True)


class TestMiniLM(MultiLabelClassifierContract):
    """The packaged MiniLM's sentence vectors under each label's head."""

    @pytest.fixture
    def classifier(self) -> LinearClassifier:
        """Untrained bert+logistic on the default model."""
        return LinearClassifier.from_options(embedder="bert", embedder_options={"show_progress": False})


def test_a_text_gets_every_label_it_shows_and_none_it_does_not() -> None:
    """Unseen tickets: one about a lost parcel that was charged gets both labels, small talk gets none, and each
    label's probability is its own (the row does not sum to 1)."""
    clf = LinearClassifier.from_options(embedder="tfidf").fit(TEXTS, LABELS)
    texts = ["the courier lost my parcel and I was charged for it", "the package arrived late", "thanks, have a good day"]
    assert clf.predict(texts) == [["billing", "delivery"], ["delivery"], []]
    assert clf.predict_proba(texts[:1]).sum() > 1.2


def test_lone_labels_count_as_lists_of_one_and_repeats_once() -> None:
    """A mix of lists and lone labels (a JSONL file's) trains as multi-label; a label repeated in a list counts
    once; tuples and sets are lists too."""
    labels = [x[0] if len(x) == 1 else tuple(x) * 2 if x else set() for x in LABELS]
    clf = LinearClassifier.from_options(embedder="tfidf", seed=3).fit(TEXTS, labels)
    same = LinearClassifier.from_options(embedder="tfidf", seed=3).fit(TEXTS, LABELS)
    np.testing.assert_allclose(clf.predict_proba(TEXTS), same.predict_proba(TEXTS))


def test_tuned_thresholds_are_each_labels_own_and_saved(tmp_path: Path) -> None:
    """tune_threshold picks a cut per label on out-of-fold probabilities; the saved classifier labels with them."""
    clf = LinearClassifier.from_options(embedder="tfidf", tune_threshold=True).fit(TEXTS, LABELS)
    assert clf.thresholds is not None and len(clf.thresholds) == 3 and clf.training_report()["thresholds"].keys() == {
        "account", "billing", "delivery"}
    proba = clf.predict_proba(TEXTS)
    assert clf.predict(TEXTS) == [[c for c, p, t in zip(clf.classes, row, clf.thresholds, strict=True) if p >= t]
                                  for row in proba]
    clf.save(tmp_path / "clf")
    assert LinearClassifier.load(tmp_path / "clf").predict(TEXTS) == clf.predict(TEXTS)
    manifest = json.loads((tmp_path / "clf" / "manifest.json").read_text())
    manifest["data"]["thresholds"] = [0.5]  # a damaged manifest: fewer thresholds than labels
    (tmp_path / "clf" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorruptFileError):
        LinearClassifier.load(tmp_path / "clf")


def test_labels_no_head_could_learn_are_refused() -> None:
    """No label at all, or a label on one text when its threshold is to be tuned out of fold: one line each."""
    with pytest.raises(InputError, match="no text holds a label"):
        LinearClassifier.from_options(embedder="tfidf").fit(TEXTS, [[] for _ in TEXTS])
    rare = [*LABELS[:-1], ["urgent"]]
    with pytest.raises(InputError, match=r"label 'urgent' is on 1 of 20 texts: tuning its threshold needs"):
        LinearClassifier.from_options(embedder="tfidf", tune_threshold=True).fit(TEXTS, rare)
    assert LinearClassifier.from_options(embedder="tfidf").fit(TEXTS, rare).classes[-1] == "urgent"


@pytest.mark.parametrize(("options", "message"), [({"fusion": "stack"}, "head=logistic and fusion auto or concat"),
                                                  ({"head": "nb"}, "head=logistic and fusion auto or concat")])
def test_a_multi_label_hybrid_that_cannot_join_its_blocks_is_refused(options: dict, message: str) -> None:
    """A multi-label hybrid joins its blocks side by side: a stack or naive Bayes is refused before any embedding."""
    clf = LinearClassifier.from_options(embedder="lsa", hybrid=True, **options)
    with pytest.raises(InputError, match=message):
        clf.fit(TEXTS, LABELS)
    assert clf.features is None


def test_one_label_per_text_trains_as_before_after_a_multi_label_fit() -> None:
    """The same classifier refitted on one label per text is single-label again: rows sum to 1, labels are text."""
    clf = LinearClassifier.from_options(embedder="tfidf").fit(TEXTS, LABELS)
    single = [x[0] if x else "other" for x in LABELS]
    clf.fit(TEXTS, single)
    assert not clf.multi_label and clf.thresholds is None and isinstance(clf.predict(TEXTS[:1])[0], str)
    np.testing.assert_allclose(clf.predict_proba(TEXTS).sum(axis=1), 1.0, atol=1e-5)


def test_labels_from_a_generator_are_read_once() -> None:
    """Labels given as a generator (lists or lone labels) train as a list would: the check for lists reads them once."""
    clf = LinearClassifier.from_options(embedder="tfidf").fit(iter(TEXTS), (labels for labels in LABELS))
    assert clf.multi_label and clf.classes == ["account", "billing", "delivery"]
    single = LinearClassifier.from_options(embedder="tfidf").fit(TEXTS, (x[0] if x else "none" for x in LABELS))
    assert not single.multi_label and "none" in single.classes
