"""Rows of a matrix scaled to unit length as CSR, without scikit-learn (importing it costs seconds)."""

from __future__ import annotations

from typing import Any

import numpy as np


def unit_rows(x: Any, copy: bool = True, keep_zeros: bool = False) -> Any:
    """CSR rows scaled to unit L2 length (rows of zeros left as they are), as scikit-learn's
    ``normalize(x, norm="l2")`` does: squares in the values' dtype, summed in float64. A dense
    array gives the CSR of its nonzero entries, scaled alike (always a new matrix, whatever ``copy``);
    with ``keep_zeros``, of every entry, so each row holds all its columns in order."""
    import scipy.sparse as sp

    if not sp.issparse(x):
        return _dense_to_csr(_unit_dense(np.asarray(x)), keep_zeros)
    x = sp.csr_matrix(x, copy=copy)
    sizes = np.diff(x.indptr)
    sums = np.bincount(np.repeat(np.arange(x.shape[0]), sizes), weights=(x.data * x.data).astype(np.float64),
                       minlength=x.shape[0])
    norms = np.sqrt(sums)
    norms[norms == 0.0] = 1.0
    x.data = (x.data / np.repeat(norms, sizes)).astype(x.dtype, copy=False)
    return x


def _unit_dense(x: np.ndarray) -> np.ndarray:
    """Dense rows scaled as ``unit_rows`` scales CSR ones: each row's squares summed in order, in float64."""
    sums = np.cumsum((x * x).astype(np.float64), axis=1)[:, -1] if x.shape[1] else np.zeros(len(x))
    norms = np.sqrt(sums)
    norms[norms == 0.0] = 1.0
    return (x / norms[:, None]).astype(x.dtype, copy=False)


def _dense_to_csr(x: np.ndarray, keep_zeros: bool = False) -> Any:
    """A dense matrix's nonzero entries (or all of them) as CSR, row by row (scipy's own conversion goes through
    coordinates)."""
    import scipy.sparse as sp

    if keep_zeros:
        n, d = x.shape
        columns = np.tile(np.arange(d, dtype=np.int32), n)
        return sp.csr_matrix((x.ravel(), columns, np.arange(n + 1, dtype=np.int64) * d), shape=x.shape)
    nonzero = x != 0
    indptr = np.concatenate([[0], np.cumsum(nonzero.sum(axis=1))])
    columns = np.broadcast_to(np.arange(x.shape[1], dtype=np.int32), x.shape)[nonzero]
    return sp.csr_matrix((x[nonzero], columns, indptr), shape=x.shape)
