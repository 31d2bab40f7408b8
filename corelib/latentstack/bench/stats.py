"""Statistics for comparing two methods on the same items."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, resamples: int = 10_000, seed: int = 0,
                     level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired items and its percentile bootstrap interval (items resampled together)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) == 0:
        msg = f"paired scores must be two equal, non-empty lists; got {x.shape} and {y.shape}"
        raise ValueError(msg)
    diff = x - y
    picks = np.random.default_rng(seed).integers(0, len(diff), size=(resamples, len(diff)))
    means = diff[picks].mean(axis=1)
    tail = (1 - level) / 2
    return float(diff.mean()), float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def paired_gain_by_id(method: Mapping[str, float], base: Mapping[str, float],
                      ids: Iterable[str] | None = None) -> tuple[float, float, float]:
    """``paired_bootstrap`` of two methods' scores keyed by item id, over ``ids`` (default: all of ``base``'s) in
    sorted order, so the interval does not depend on the order the items were scored in."""
    keys = sorted(base if ids is None else ids)
    return paired_bootstrap([method[i] for i in keys], [base[i] for i in keys])
