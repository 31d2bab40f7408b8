"""A held-out test split drawn from a labeled file that has none: stratified and seeded.

Each class's rows are shuffled with the seed and the first ``round(n * fraction)`` of them
held out (at least one row of every class of two or more stays in training, and a class
of one row is never held out), so the same file, fraction and seed give the same split,
with each class in the proportion it has in the file. Both parts keep the file's order.

Rows with several labels each are drawn by iterative stratification (Sechidis, Tsoumakas and
Vlahavas, 2011; scikit-multilearn's ``IterativeStratification``): the rarest label's rows are
placed first, each where that label is most wanted, so that each label, a rare one too, is
held out in about its share rather than falling wholly on one side.
"""

from __future__ import annotations

from typing import Any

from latentstack.errors import InputError

#: Changes when a draw would hold out other rows (a classifier's holdout.json records the one it was trained with).
RULE = 2  # 1: multi-label rows drawn by their whole set of labels


def held_rows(labels: list[str], fraction: float, seed: int) -> set[int]:
    """The row numbers held out: per class, a seeded draw of ``round(n * fraction)`` of its rows."""
    import numpy as np

    _check_share(fraction)
    by_class: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    rng = np.random.default_rng(seed)
    out: set[int] = set()
    for label in sorted(by_class):
        rows = by_class[label]
        take = min(round(len(rows) * fraction), len(rows) - 1)
        out.update(int(i) for i in rng.permutation(rows)[:take])
    return out


def held_label_sets(label_sets: list[list[str]], fraction: float, seed: int) -> set[int]:
    """The row numbers held out of rows with a list of labels each, by iterative stratification (seeded)."""
    import numpy as np

    _check_share(fraction)
    rng = np.random.default_rng(seed)
    rows: dict[str, list[int]] = {}
    for i, labels in enumerate(label_sets):
        for label in dict.fromkeys(labels):
            rows.setdefault(label, []).append(i)
    wanted = [{label: len(r) * (1 - fraction) for label, r in rows.items()},  # train, then test
              {label: len(r) * fraction for label, r in rows.items()}]
    room = [len(label_sets) * (1 - fraction), len(label_sets) * fraction]
    left = {label: len(r) for label, r in rows.items()}  # each label's rows not placed yet
    side: dict[int, int] = {}
    while left:
        label = min(left, key=lambda lab: (left[lab], lab))  # the rarest label left
        for i in (int(i) for i in rng.permutation(rows[label]) if int(i) not in side):
            side[i] = part = _where(wanted[0][label], wanted[1][label], room, rng)
            room[part] -= 1
            for other in dict.fromkeys(label_sets[i]):
                wanted[part][other] -= 1
                left[other] -= 1
        left = {lab: n for lab, n in left.items() if n > 0}
    for i in (int(i) for i in rng.permutation(len(label_sets)) if int(i) not in side):  # rows without labels
        side[i] = part = _where(0.0, 0.0, room, rng)
        room[part] -= 1
    return {i for i, part in side.items() if part == 1}


def _where(train: float, test: float, room: list[float], rng: Any) -> int:
    """0 (train) or 1 (test): where the label is wanted more, else where more rows are wanted, else a seeded coin."""
    if train != test:
        return int(test > train)
    if room[0] != room[1]:
        return int(room[1] > room[0])
    return int(rng.integers(2))


def _check_share(fraction: float) -> None:
    if not 0 < fraction < 1:
        msg = f"the held-out share must be between 0 and 1 (e.g. 0.2), got {fraction}"
        raise InputError(msg)
