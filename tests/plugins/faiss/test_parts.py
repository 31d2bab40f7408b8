"""An index built in parts (trained once, copies filled apart, merged) answers as one built by ``add``."""

from __future__ import annotations

import numpy as np
import pytest

from latentstack.errors import InputError
from latentstack_faiss.index import FaissIndex


def vectors(n: int, dim: int = 16) -> np.ndarray:
    x = np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def in_parts(factory: str, x: np.ndarray, ids: list[str], cuts: list[int]) -> FaissIndex:
    index = FaissIndex.from_options(factory=factory)
    assert index.can_build_in_parts(len(x))
    empty = index.start_parts(x)
    bounds = [0, *cuts, len(x)]
    parts = [FaissIndex.fill_part(empty, np.arange(a, b), x[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    index.merge_parts(parts[::-1], ids, [{"n": i % 3} for i in range(len(x))])  # any order of parts
    return index


@pytest.mark.parametrize("factory", ["Flat", "SQ8", "IVF8,Flat"])
def test_parts_merge_to_the_index_add_builds(factory: str) -> None:
    x = vectors(1000)
    ids = [f"d{i}" for i in range(len(x))]
    whole = FaissIndex.from_options(factory=factory)
    whole.add(ids, x, [{"n": i % 3} for i in range(len(x))])
    merged = in_parts(factory, x, ids, [250, 600])
    assert len(merged) == len(whole) == 1000
    for got, want in zip(merged.search_batch(x[:40], 10), whole.search_batch(x[:40], 10), strict=True):
        assert [h.id for h in got] == [h.id for h in want]
    assert [h.id for h in merged.search(x[5], 3, where={"n": 2})] == [h.id for h in whole.search(x[5], 3, where={"n": 2})]
    merged.remove(["d5"])
    assert "d5" not in [h.id for h in merged.search(x[5], 3)]


def test_a_lost_part_is_an_error_and_hnsw_is_not_built_in_parts() -> None:
    x = vectors(300)
    index = FaissIndex.from_options(factory="Flat")
    empty = index.start_parts(x)
    part = FaissIndex.fill_part(empty, np.arange(0, 200), x[:200])
    with pytest.raises(InputError, match="a part was lost or repeated"):
        index.merge_parts([part], [f"d{i}" for i in range(300)])
    assert not FaissIndex.from_options(factory="HNSW16").can_build_in_parts(300)
    built = FaissIndex.from_options(factory="Flat")
    built.add(["a"], x[:1])
    assert not built.can_build_in_parts(300)  # only the first add of an empty index
