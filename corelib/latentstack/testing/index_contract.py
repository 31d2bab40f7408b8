"""The contract every dense-vector Index meets."""

from __future__ import annotations

import numpy as np
import pytest

from latentstack.errors import LatentstackError
from latentstack.interfaces import Index


def unit_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """Random unit vectors, float32."""
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


class IndexContract:
    """Subclass and provide an empty ``index`` fixture and a ``dim`` attribute."""

    dim = 16
    n = 200

    @pytest.fixture
    def index(self) -> Index:
        """Override: return an empty index for vectors of length ``dim``."""
        raise NotImplementedError

    @pytest.fixture
    def filled(self, index: Index) -> tuple[Index, np.ndarray, list[str]]:
        """The index with ``n`` vectors under string ids, every other one tagged even."""
        x = unit_vectors(self.n, self.dim)
        ids = [f"doc{i}" for i in range(self.n)]
        index.add(ids, x, [{"parity": "even" if i % 2 == 0 else "odd"} for i in range(self.n)])
        return index, x, ids

    def test_self_is_nearest(self, filled) -> None:  # noqa: ANN001
        """Each stored vector finds itself first, with descending scores."""
        index, x, ids = filled
        assert len(index) == self.n
        for i in (0, 7, self.n - 1):
            hits = index.search(x[i], k=5)
            assert hits[0].id == ids[i]
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    def test_batch_equals_single(self, filled) -> None:  # noqa: ANN001
        """search_batch gives the same ids as searching one query at a time."""
        index, x, _ = filled
        batch = index.search_batch(x[:4], k=3)
        assert [[h.id for h in hs] for hs in batch] == [[h.id for h in index.search(q, k=3)] for q in x[:4]]

    def test_remove(self, filled) -> None:  # noqa: ANN001
        """A removed id is never returned again."""
        index, x, ids = filled
        assert index.remove([ids[3]]) == 1
        assert ids[3] not in [h.id for h in index.search(x[3], k=10)]
        assert len(index) == self.n - 1

    def test_where_filter(self, filled) -> None:  # noqa: ANN001
        """A metadata filter returns k hits, all matching it."""
        index, x, _ = filled
        hits = index.search(x[0], k=10, where={"parity": "odd"})
        assert len(hits) == 10
        assert all(h.metadata["parity"] == "odd" for h in hits)

    def test_save_load_round_trip(self, filled, tmp_path) -> None:  # noqa: ANN001
        """A saved and reloaded index answers the same, removals included."""
        index, x, ids = filled
        index.remove([ids[5]])
        index.save(tmp_path / "idx")
        again = type(index).load(tmp_path / "idx")
        assert len(again) == len(index)
        assert [h.id for h in again.search(x[5], k=5)] == [h.id for h in index.search(x[5], k=5)]

    def test_wrong_dimension_raises(self, filled) -> None:  # noqa: ANN001
        """A query of the wrong length is a clear error, not a crash."""
        index, _, _ = filled
        with pytest.raises(LatentstackError, match="dim"):
            index.search(np.ones(self.dim + 1, dtype=np.float32))
