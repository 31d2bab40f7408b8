"""Multi-label scores, worked out by hand on four texts."""

from __future__ import annotations

import pytest

from latentstack.classify.metrics import multilabel_metrics, scores


def test_multi_label_scores_count_labels_texts_and_pairs() -> None:
    """Gold and predicted label sets of four texts over the labels a, b, c (the last text has none, and gets none:
    a right answer for the per-text F1)."""
    gold = [["a", "b"], ["a"], ["c"], []]
    pred = [["a"], ["a", "c"], ["c"], []]
    got = multilabel_metrics(gold, pred, ["a", "b", "c"])
    assert got["subset_accuracy"] == pytest.approx(2 / 4)  # texts 3 and 4 exactly right
    assert got["hamming_loss"] == pytest.approx(2 / 12)  # b missed on text 1, c added on text 2
    assert got["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))  # 3 right pairs, 1 added, 1 missed
    assert (got["f1[a]"], got["f1[b]"], got["f1[c]"]) == pytest.approx((1.0, 0.0, 2 / 3))
    assert got["macro_f1"] == pytest.approx((1.0 + 0.0 + 2 / 3) / 3)
    assert got["samples_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1.0 + 1.0) / 4)
    assert scores(gold, pred, ["a", "b", "c"], multi_label=True) == got
    assert scores(["x", "y"], ["x", "x"], ["x", "y"], multi_label=False)["accuracy"] == 0.5
