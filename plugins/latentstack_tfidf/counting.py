"""N-gram keys to vocabulary columns, compiled with numba.

``unique`` gives what ``np.unique(keys, return_index=True, return_inverse=True)`` gives,
by hashing the keys (a table that grows with the distinct keys, so it stays in cache)
and sorting only the distinct ones, where numpy sorts the positions of every occurrence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing's multiplier


@njit(nogil=True, cache=True)
def _slot(key: int, shift: Any) -> Any:
    return np.int64((np.uint64(key) * _GOLDEN) >> shift)


@njit(nogil=True, cache=True)
def _rehash(distinct: np.ndarray, m: int, bits: int) -> np.ndarray:
    """A table of ``2**bits`` slots holding the ids of the first ``m`` distinct keys (-1: empty)."""
    slots = np.full(1 << bits, -1, dtype=np.int64)
    shift, mask = np.uint64(64 - bits), (1 << bits) - 1
    for d in range(m):
        j = _slot(distinct[d], shift)
        while slots[j] != -1:
            j = (j + 1) & mask
        slots[j] = d
    return slots


@njit(nogil=True, cache=True)
def _factorize(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct keys in order of first appearance, where each first appears, and each key's id among them."""
    n = keys.shape[0]
    distinct, first, ids = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    bits, m = 10, 0
    slots = np.full(1 << bits, -1, dtype=np.int64)
    for i in range(n):
        if 2 * m >= (1 << bits):  # kept at most half full
            bits += 1
            slots = _rehash(distinct, m, bits)
        shift, mask = np.uint64(64 - bits), (1 << bits) - 1
        j = _slot(keys[i], shift)
        while slots[j] != -1 and distinct[slots[j]] != keys[i]:
            j = (j + 1) & mask
        if slots[j] == -1:
            slots[j], distinct[m], first[m] = m, keys[i], i
            m += 1
        ids[i] = slots[j]
    return distinct[:m], first[:m], ids


def unique(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(keys, return_index=True, return_inverse=True)`` for non-negative int64 keys."""
    distinct, first, ids = _factorize(np.ascontiguousarray(keys, dtype=np.int64))
    order = np.argsort(distinct)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return distinct[order], first[order], rank[ids]
