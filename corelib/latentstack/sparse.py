"""Rows of a sparse matrix scaled to unit length, without scikit-learn (importing it costs seconds)."""

from __future__ import annotations

from typing import Any

import numpy as np


def unit_rows(x: Any, copy: bool = True) -> Any:
    """CSR rows scaled to unit L2 length (rows of zeros left as they are), as scikit-learn's
    ``normalize(x, norm="l2")`` does: squares in the values' dtype, summed in float64."""
    import scipy.sparse as sp

    x = sp.csr_matrix(x, copy=copy)
    sizes = np.diff(x.indptr)
    sums = np.bincount(np.repeat(np.arange(x.shape[0]), sizes), weights=(x.data * x.data).astype(np.float64),
                       minlength=x.shape[0])
    norms = np.sqrt(sums)
    norms[norms == 0.0] = 1.0
    x.data = (x.data / np.repeat(norms, sizes)).astype(x.dtype, copy=False)
    return x
