"""A held-out test split drawn from a labeled file that has none: stratified and seeded.

Each class's rows are shuffled with the seed and the first ``round(n * fraction)`` of them
held out (at least one row of every class of two or more stays in training, and a class
of one row is never held out), so the same file, fraction and seed give the same split,
with each class in the proportion it has in the file. Both parts keep the file's order.
"""

from __future__ import annotations

from latentstack.errors import InputError


def held_rows(labels: list[str], fraction: float, seed: int) -> set[int]:
    """The row numbers held out: per class, a seeded draw of ``round(n * fraction)`` of its rows."""
    import numpy as np

    if not 0 < fraction < 1:
        msg = f"the held-out share must be between 0 and 1 (e.g. 0.2), got {fraction}"
        raise InputError(msg)
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
