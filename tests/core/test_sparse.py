"""Unit-length sparse rows without scikit-learn."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from latentstack.sparse import unit_rows


def test_unit_rows_are_scikit_learns_normalize() -> None:
    """Bit for bit scikit-learn's L2 normalize, in float32 and float64, rows of zeros kept; the input untouched."""
    for dtype in (np.float32, np.float64):
        x = sp.vstack([sp.random(200, 40, density=0.1, format="csr", random_state=1, dtype=dtype),
                       sp.csr_matrix((2, 40), dtype=dtype)], format="csr")
        before = x.toarray()
        ours = unit_rows(x)
        assert ours.dtype == dtype
        np.testing.assert_array_equal(ours.toarray(), normalize(x, norm="l2").toarray())
        np.testing.assert_array_equal(x.toarray(), before)
    np.testing.assert_allclose(np.linalg.norm(unit_rows(np.ones((3, 4))).toarray(), axis=1), 1.0)


def test_dense_rows_are_scaled_as_their_sparse_form() -> None:
    """A dense matrix (an embedding block beside TF-IDF) gives bit for bit the CSR that its sparse form gives:
    the same nonzero entries in the same order, the same values; rows of zeros kept, the input untouched."""
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = (rng.standard_normal((300, 50)) * rng.uniform(0.01, 100.0, (300, 1))).astype(dtype)
        x[3], x[5, 7] = 0.0, 0.0
        before = x.copy()
        ours, theirs = unit_rows(x), normalize(sp.csr_matrix(x), norm="l2")
        assert ours.dtype == dtype and ours.nnz == theirs.nnz == 300 * 50 - 51
        for part in ("indptr", "indices", "data"):
            np.testing.assert_array_equal(getattr(ours, part), getattr(theirs, part))
        np.testing.assert_array_equal(x, before)
        every = unit_rows(x, keep_zeros=True)  # the same values, each row holding all its columns in order
        assert every.nnz == x.size and (every.indices.reshape(x.shape) == np.arange(50)).all()
        np.testing.assert_array_equal(every.toarray(), ours.toarray())
    assert unit_rows(np.zeros((2, 0), dtype=np.float32)).shape == (2, 0)
    assert unit_rows(np.zeros((2, 0), dtype=np.float32), keep_zeros=True).shape == (2, 0)
