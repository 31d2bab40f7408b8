"""Counting (key, text) pairs compiled with numba: a radix sort of the packed pairs, then two passes to CSR.

``ngrams._count_pairs`` packs each n-gram occurrence's key and text number into one
integer and sorts them, so that equal pairs are adjacent and grouped by key. numpy's
comparison sort is a large part of a TF-IDF fit; a least-significant-digit radix sort of
the same integers (12-bit digits, as many passes as the packed width needs) does the same
in linear time. The sorted pairs are then turned into the CSR matrix in two linear passes:
one counts each text's distinct keys, the other writes each pair into its text's row in
key order, so every row's columns come out ascending. The result is exactly numpy's path's
(a test compares them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

DIGIT_BITS = 12


@njit(nogil=True, cache=True)
def radix_sort(values: np.ndarray, bits: int) -> np.ndarray:
    """``values`` (non-negative, below 2**bits) sorted ascending, by ``DIGIT_BITS`` bits a pass."""
    n, buckets = values.shape[0], 1 << DIGIT_BITS
    a, b = values.copy(), np.empty_like(values)
    shift = 0
    while shift < bits:
        starts = np.zeros(buckets + 1, dtype=np.int64)
        for i in range(n):
            starts[((a[i] >> shift) & (buckets - 1)) + 1] += 1
        for d in range(buckets):
            starts[d + 1] += starts[d]
        for i in range(n):
            d = (a[i] >> shift) & (buckets - 1)
            b[starts[d]] = a[i]
            starts[d] += 1
        a, b = b, a
        shift += DIGIT_BITS
    return a


@njit(nogil=True, cache=True)
def _distinct(packed: np.ndarray, row_bits: int, n_rows: int) -> tuple[np.ndarray, int]:
    """Each row's count of distinct pairs, as CSR's row pointer, and the number of distinct keys."""
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    mask, keys, last, last_key = (1 << row_bits) - 1, 0, -1, -1
    for v in packed:
        if v != last:
            indptr[(v & mask) + 1] += 1
            if v >> row_bits != last_key:
                keys += 1
                last_key = v >> row_bits
            last = v
    for r in range(n_rows):
        indptr[r + 1] += indptr[r]
    return indptr, keys


@njit(nogil=True, cache=True)
def to_csr(packed: np.ndarray, row_bits: int, n_rows: int) -> tuple[np.ndarray, ...]:
    """CSR arrays (row pointer, columns, counts) of sorted packed pairs, and the distinct keys in column order."""
    indptr, n_keys = _distinct(packed, row_bits, n_rows)
    indices = np.empty(indptr[n_rows], dtype=np.int32)
    counts = np.empty(indptr[n_rows], dtype=np.float32)
    keys = np.empty(n_keys, dtype=np.int64)
    fill = indptr[:-1].copy()
    mask, column, i, n = (1 << row_bits) - 1, -1, 0, packed.shape[0]
    while i < n:
        v, j = packed[i], i + 1
        while j < n and packed[j] == v:
            j += 1
        if column < 0 or keys[column] != v >> row_bits:
            column += 1
            keys[column] = v >> row_bits
        r = v & mask
        indices[fill[r]], counts[fill[r]] = column, j - i
        fill[r] += 1
        i = j
    return indptr, indices, counts, keys


def count_packed(keys: np.ndarray, rows: np.ndarray, n_rows: int, key_bits: int, row_bits: int) -> tuple[Any, np.ndarray]:
    """Counts (CSR, float32; a column per distinct key, ascending) of each (row, key) occurrence, and the distinct
    keys, for keys below 2**key_bits and rows below 2**row_bits (key_bits + row_bits <= 63)."""
    import scipy.sparse as sp

    packed = radix_sort((keys.astype(np.int64) << row_bits) | rows.astype(np.int64), key_bits + row_bits)
    indptr, indices, counts, distinct = to_csr(packed, row_bits, n_rows)
    out = sp.csr_matrix((counts, indices, indptr), shape=(n_rows, len(distinct)))
    out.has_canonical_format = True
    return out, distinct
