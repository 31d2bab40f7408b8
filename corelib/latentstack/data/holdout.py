"""A held-out test split drawn from a labeled file that has none: stratified and seeded.

Each class's rows are shuffled with the seed and the first ``round(n * fraction)`` of them
held out (at least one row of every class of two or more stays in training, and a class
of one row is never held out), so the same file, fraction and seed give the same split,
with each class in the proportion it has in the file. Both parts keep the file's order.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from latentstack.errors import InputError

if TYPE_CHECKING:
    from latentstack.data.labeled import Labeled


def held_rows(labels: list[str], fraction: float, seed: int) -> set[int]:
    """The row numbers held out: per class, a seeded draw of ``round(n * fraction)`` of its rows."""
    import numpy as np

    if not 0 < fraction < 1:
        msg = f"the held-out share must be between 0 and 1 (e.g. 0.2), got {fraction}"
        raise InputError(msg)
    rng = np.random.default_rng(seed)
    out: set[int] = set()
    for label in sorted(set(labels)):
        rows = [i for i, x in enumerate(labels) if x == label]
        take = min(round(len(rows) * fraction), len(rows) - 1)
        out.update(int(i) for i in rng.permutation(rows)[:take])
    return out


def hold_out(part: Labeled, fraction: float, seed: int, path: str | Path) -> dict[str, Labeled]:
    """``part`` as {"train", "test"}: ``fraction`` of each class held out as ``test``."""
    from latentstack.data.labeled import Labeled

    held = held_rows(part.labels, fraction, seed)
    if not held:
        msg = (f"{path} has too few rows for a held-out share of {fraction}: no class would keep a row out of "
               "training; hold out more, or give a file with a split column")
        raise InputError(msg)
    pick = [(i in held) for i in range(len(part))]
    return {name: Labeled([t for t, h in zip(part.texts, pick, strict=True) if h == want],
                          [x for x, h in zip(part.labels, pick, strict=True) if h == want])
            for name, want in (("train", False), ("test", True))}
