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
