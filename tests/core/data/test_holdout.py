"""The multi-label held-out draw: every label in about its share (iterative stratification), seeded, and a
classifier trained on an earlier version's draw is not evaluated on today's."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from latentstack.classify import holdout
from latentstack.data.holdout import held_label_sets
from latentstack.errors import InputError


def zipf_label_sets(rows: int = 3000, labels: int = 60, seed: int = 1) -> list[list[str]]:
    """One to three labels a row, drawn with Zipf weights: many label sets are held by one row only."""
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, labels + 1)
    names = [f"l{i}" for i in range(labels)]
    return [sorted(set(rng.choice(names, size=int(rng.integers(1, 4)), p=weights / weights.sum())))
            for _ in range(rows)]


def test_every_label_is_held_out_in_about_its_share() -> None:
    """Drawn by whole label sets, a label whose sets are each one row's fell wholly on one side (up to 0.2 off
    a 0.2 share); by label, each label of ten rows or more is within a few points of it, none wholly held out."""
    sets = zipf_label_sets()
    held = held_label_sets(sets, 0.2, seed=0)
    total = Counter(label for s in sets for label in s)
    out = Counter(label for i in held for label in sets[i])
    assert abs(len(held) / len(sets) - 0.2) < 0.01
    assert max(abs(out[label] / n - 0.2) for label, n in total.items() if n >= 10) < 0.05
    assert not [label for label, n in total.items() if n >= 2 and out[label] == n]
    assert held == held_label_sets(sets, 0.2, seed=0) and held != held_label_sets(sets, 0.2, seed=1)


def test_rows_without_labels_and_a_single_rows_label_are_placed() -> None:
    sets = [["a"], ["a"], ["a", "b"], [], [], ["c"], ["a"], ["b"], [], ["a", "b"]]
    held = held_label_sets(sets, 0.3, seed=0)
    assert 2 <= len(held) <= 4 and 5 not in held  # "c" has one row: it stays in training
    with pytest.raises(InputError, match="between 0 and 1"):
        held_label_sets(sets, 1.0, seed=0)


def test_a_multi_label_classifier_drawn_by_an_earlier_rule_is_not_evaluated_on_todays_draw(tmp_path: Path) -> None:
    """Its holdout.json has no rule (version 1 drew by label set): today's rows would mix its training rows in."""
    data = tmp_path / "tickets.csv"
    data.write_text("text,tags\na,x\n", encoding="utf-8")
    folder = tmp_path / "clf"
    folder.mkdir()
    from latentstack.storage import sha256_file

    kept = {"data_sha256": sha256_file(data), "holdout": 0.2, "seed": 0, "rows": {"train": 1, "test": 0}}
    (folder / "holdout.json").write_text(json.dumps(kept), encoding="utf-8")
    holdout.check(folder, data, 0.2, 0, multi_label=False)  # a single-label draw is unchanged
    with pytest.raises(InputError, match="earlier version's multi-label --holdout draw"):
        holdout.check(folder, data, 0.2, 0, multi_label=True)
    (folder / "holdout.json").write_text(json.dumps({**kept, "rule": 2}), encoding="utf-8")
    holdout.check(folder, data, 0.2, 0, multi_label=True)
