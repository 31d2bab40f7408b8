"""The faiss plugin: every supported index kind meets the Index contract, plus its own edge cases."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from latentstack.errors import CorruptFileError, InputError, ModelMismatchError
from latentstack.testing import IndexContract
from latentstack.testing.index_contract import unit_vectors
from latentstack_faiss.index import FaissIndex


class TestFlat(IndexContract):
    """Exact inner-product search."""

    @pytest.fixture
    def index(self) -> FaissIndex:
        """An empty Flat index."""
        return FaissIndex.from_options(factory="Flat")


class TestHNSW(IndexContract):
    """HNSW: removals are tombstones filtered during search and compacted on save."""

    @pytest.fixture
    def index(self) -> FaissIndex:
        """An empty HNSW16 index."""
        return FaissIndex.from_options(factory="HNSW16", ef_search=64)

    def test_compacted_on_save(self, filled, tmp_path) -> None:  # noqa: ANN001
        """After save the tombstones are gone from the stored FAISS index itself."""
        index, x, ids = filled
        index.remove(ids[:10])
        index.save(tmp_path / "i")
        again = FaissIndex.load(tmp_path / "i")
        assert again.index.ntotal == self.n - 10 and not again.dead


class TestSQ8(IndexContract):
    """Every vector scored from one byte a number (IDMap2 over a scalar quantiser): native removal."""

    n = 1000

    @pytest.fixture
    def index(self) -> FaissIndex:
        """An empty SQ8 index."""
        return FaissIndex.from_options(factory="SQ8")


class TestHNSWSQ8(IndexContract):
    """HNSW over scalar-quantised storage: trained on the first add, compacted with its own codec on save."""

    n = 1000

    @pytest.fixture
    def index(self) -> FaissIndex:
        """An empty HNSW16,SQ8 index searching the whole graph's neighbourhood."""
        return FaissIndex.from_options(factory="HNSW16,SQ8", ef_search=256)

    def test_compaction_keeps_the_codes(self, filled, tmp_path) -> None:  # noqa: ANN001
        """Compacting re-encodes the kept vectors with the trained codec: the same scores after save and load."""
        index, x, ids = filled
        index.remove(ids[:10])
        before = index.search_batch(x[10:20], k=5)
        index.save(tmp_path / "i")
        again = FaissIndex.load(tmp_path / "i")
        after = again.search_batch(x[10:20], k=5)
        assert again.index.ntotal == self.n - 10 and not again.dead
        assert [[h.id for h in row] for row in after] == [[h.id for h in row] for row in before]
        assert np.allclose([[h.score for h in row] for row in after], [[h.score for h in row] for row in before],
                           atol=1e-6)


def test_scalar_codes_are_smaller_and_near_exact() -> None:
    """SQ8 keeps a quarter of Flat's bytes and finds the exact top 10 for nearly every query."""
    x = unit_vectors(3000, 64)
    flat, sq8 = FaissIndex.from_options(factory="Flat"), FaissIndex.from_options(factory="SQ8")
    for index in (flat, sq8):
        index.add(list(range(3000)), x)
    assert sq8.nbytes() < 0.3 * flat.nbytes()
    exact, coded = flat.search_batch(x[:50] + 0.01, k=10), sq8.search_batch(x[:50] + 0.01, k=10)
    overlap = np.mean([len({h.id for h in a} & {h.id for h in b}) / 10 for a, b in zip(exact, coded, strict=True)])
    assert overlap >= 0.9


def test_coded_storage_without_lists_trains_on_every_vector() -> None:
    """SQ8 and HNSW with coded storage train on the whole first add (no IVF sample); SQfp16 learns nothing."""
    for factory in ("SQ8", "SQ4", "HNSW8,SQ8"):
        index = FaissIndex.from_options(factory=factory, train_per_list=1)
        index.add(list(range(1000)), unit_vectors(1000, 8))
        assert [h.id for h in index.search(unit_vectors(1000, 8)[999], k=1)] == [999], factory
    index = FaissIndex.from_options(factory="SQfp16")
    index.add(["a", "b", "c"], unit_vectors(3, 8))
    assert [h.id for h in index.search(unit_vectors(3, 8)[1], k=1)] == ["b"]


@pytest.mark.parametrize("factory", ["SQ8", "SQ4", "HNSW32,SQ8"])
def test_integer_codes_refuse_a_range_learnt_from_a_few_vectors(factory: str) -> None:
    """A first add of 10 vectors would clip every later one to their ranges: refused, naming what to do."""
    index = FaissIndex.from_options(factory=factory)
    with pytest.raises(InputError, match=f"{re.escape(factory)} must be trained on at least 1000 vectors, got 10 "
                                         "in the first add: add more at once, or use an index that learns nothing"):
        index.add(list(range(10)), unit_vectors(10, 8))


def test_index_shortcuts_name_the_factory_strings_faiss_reads() -> None:
    """--index SQ8 is FAISS's; a string no index reads is an error that says what FAISS's look like."""
    from latentstack.errors import UnknownNameError
    from latentstack.search.collection import resolve_index

    assert resolve_index("SQ8") == ("faiss", {"factory": "SQ8"})
    assert resolve_index("HNSW32,SQ8", {"ef_search": 128}) == ("faiss", {"factory": "HNSW32,SQ8", "ef_search": 128})
    assert resolve_index("PQ16") == ("faiss", {"factory": "PQ16"})
    with pytest.raises(UnknownNameError, match=r"unknown index 'LSH'.*\(faiss: a factory string such as Flat, SQ8"):
        resolve_index("LSH")


class TestFlatPQ(IndexContract):
    """PQ codes, every one scored: FAISS's IndexPQ cannot filter during a search, so it is one IVF list of them."""

    n = 600

    @pytest.fixture
    def index(self) -> FaissIndex:
        """An empty PQ8 index (2-d sub-vectors of the 16-d test vectors, a byte each)."""
        return FaissIndex.from_options(factory="PQ8")

    def test_kept_as_one_list_of_codes(self, filled) -> None:  # noqa: ANN001
        """The factory string is kept as given; the index is an IVF-PQ of one list, 8 bytes a vector."""
        import faiss

        index, _, _ = filled
        inner = faiss.downcast_index(index.index)
        assert index.config.factory == "PQ8" and inner.nlist == 1 and inner.code_size == 8


@pytest.mark.parametrize(("factory", "coded"), [("PQ8", "IndexIVFPQ"), ("IVF4,PQ4,Refine(SQ8)", "IndexIVFPQ"),
                                                ("HNSW32,PQ4", "IndexPQ")])
def test_pq_codes_are_not_trained_for_hamming_filters(factory: str, coded: str) -> None:
    """FAISS's factory asks every PQ for polysemous training (codes ordered for a Hamming filter no search here
    uses), which took most of a PQ's training time; it is off, under any wrapper."""
    import faiss

    index = FaissIndex.from_options(factory=factory)
    index.add(list(range(600)), unit_vectors(600, 16))
    inner, found = index.index, []
    for _ in range(4):
        inner = faiss.downcast_index(inner)
        found.append((type(inner).__name__, getattr(inner, "do_polysemous_training", None)))
        inner = next((getattr(inner, a) for a in ("base_index", "storage", "index") if hasattr(inner, a)), None)
        if inner is None:
            break
    assert (coded, False) in found


class TestIVF(IndexContract):
    """IVF-Flat with native id removal."""

    @pytest.fixture
    def index(self) -> FaissIndex:
        """An empty IVF8,Flat index probing all lists (so results are exact)."""
        return FaissIndex.from_options(factory="IVF8,Flat", nprobe=8)


class TestIVFPQRefine(IndexContract):
    """IVF-PQ re-ranked by SQ8 codes: the compressed index."""

    n = 600

    @pytest.fixture
    def index(self) -> FaissIndex:
        """An empty IVF4,PQ4,Refine(SQ8) index."""
        return FaissIndex.from_options(factory="IVF4,PQ4,Refine(SQ8)", nprobe=4)


def test_selective_filter_still_gives_k_on_ivf() -> None:
    """A filter matching few items spread over many lists still yields every match (search widens)."""
    x = unit_vectors(2000, 16)
    index = FaissIndex.from_options(factory="IVF32,Flat", nprobe=1)
    index.add(list(range(2000)), x, [{"tag": "rare" if i % 250 == 0 else "common"} for i in range(2000)])
    hits = index.search(x[1], k=8, where={"tag": "rare"})
    assert sorted(h.id for h in hits) == list(range(0, 2000, 250))


@pytest.mark.parametrize(("factory", "metric"), [("HNSW32", "ip"), ("HNSW32", "l2"), ("HNSW16,SQ8", "ip")])
def test_a_selective_filter_on_hnsw_finds_every_match(factory: str, metric: str) -> None:
    """HNSW's walk with a filter allowing 10 of 5,000 vectors came back with fewer than 10 hits for every query;
    the short rows are now scored against every allowed vector: the hits exact search gives (and its order, but
    for SQ8's codes)."""
    x = unit_vectors(5000, 16)
    meta = [{"rank": i} for i in range(5000)]
    hnsw, flat = (FaissIndex.from_options(factory=f, metric=metric) for f in (factory, "Flat"))
    for index in (hnsw, flat):
        index.add(list(range(5000)), x, meta)
    where = {"rank": {"$gte": 50, "$lt": 60}}
    for got, want in zip(hnsw.search_batch(x[::100], k=20, where=where),
                         flat.search_batch(x[::100], k=20, where=where), strict=True):
        assert sorted(h.id for h in got) == sorted(h.id for h in want) == list(range(50, 60))
        assert "SQ8" in factory or [h.id for h in got] == [h.id for h in want]
        assert np.allclose(sorted(h.score for h in got), sorted(h.score for h in want), atol=0.02)


def test_hnsw_with_most_vectors_removed_still_finds_the_live_ones() -> None:
    """Tombstones left 10 live vectors of 3,000 (before a save compacts them): a search finds all 10."""
    x = unit_vectors(3000, 16)
    index = FaissIndex.from_options(factory="HNSW32")
    index.add(list(range(3000)), x)
    index.remove(list(range(10, 3000)))
    for q in x[::300]:
        assert sorted(h.id for h in index.search(q, k=10)) == list(range(10))


def test_unknown_filter_key_is_an_error() -> None:
    """A --where key no item has is refused, naming the known keys."""
    index = FaissIndex.from_options()
    index.add([1, 2], unit_vectors(2, 8), [{"lang": "en"}, {"lang": "de"}])
    with pytest.raises(InputError, match="unknown metadata key.*'langg'.*known keys: lang"):
        index.search(unit_vectors(1, 8)[0], where={"langg": "en"})


def test_too_few_vectors_to_train() -> None:
    """An IVF index refuses a first add smaller than its list count, saying what to do."""
    index = FaissIndex.from_options(factory="IVF64,Flat")
    with pytest.raises(InputError, match="at least 64 vectors"):
        index.add(list(range(10)), unit_vectors(10, 8))


def test_a_factory_string_faiss_cannot_make_is_one_line() -> None:
    """faiss' RuntimeError (a C++ source location first) was a traceback after the passages were embedded; check_dim
    makes the kind once for a dimension."""
    from latentstack.errors import ConfigError

    with pytest.raises(ConfigError, match="FAISS cannot make the index 'HNSWxx' for 8-dimensional vectors .*could not parse"):
        FaissIndex.from_options(factory="HNSWxx").add(["a", "b"], unit_vectors(2, 8))
    with pytest.raises(ConfigError, match="'IVF1,PQ5' for 32-dimensional vectors .*multiple of the number"):
        FaissIndex.from_options(factory="IVF1,PQ5").check_dim(32)
    FaissIndex.from_options(factory="IVF1,PQ5").check_dim(40)
    FaissIndex.from_options().check_dim(7)  # auto fits any dimension


def test_a_collection_checks_its_index_kind_before_embedding(tiny_bert_dir) -> None:  # noqa: ANN001
    """Collection.create (index build) says an index kind does not fit the embedder's vectors at once, from the
    dimension in the model's config.json, instead of after embedding every passage."""
    from latentstack.errors import ConfigError
    from latentstack.search import Collection

    with pytest.raises(ConfigError, match="'IVF1,PQ5' for 32-dimensional vectors"):
        Collection.create("unused", embedder_options={"model": str(tiny_bert_dir)}, index="IVF1,PQ5")


def test_sparse_and_bad_vectors_refused() -> None:
    """Sparse input, NaN and a dimension change are clear errors."""
    import scipy.sparse as sp

    index = FaissIndex.from_options()
    with pytest.raises(InputError, match="dense"):
        index.add([1], sp.csr_matrix(np.ones((1, 4), dtype=np.float32)))
    with pytest.raises(InputError, match="NaN"):
        index.add([1], np.full((1, 4), np.nan, dtype=np.float32))
    index.add([1], unit_vectors(1, 4))
    with pytest.raises(ModelMismatchError, match="dim 5"):
        index.add([2], unit_vectors(1, 5))


def test_update_replaces_vector() -> None:
    """Adding an existing id again replaces its vector and metadata."""
    x = unit_vectors(20, 8)
    index = FaissIndex.from_options()
    index.add(list(range(20)), x)
    index.update([0], x[5:6], [{"v": 2}])
    assert len(index) == 20
    top = index.search(x[5], k=2)
    assert {h.id for h in top} == {0, 5}


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_corrupt_file_is_clear(tmp_path, damage: str) -> None:  # noqa: ANN001
    """A truncated, altered or missing index file is a CorruptFileError that says to rebuild."""
    index = FaissIndex.from_options()
    index.add(list(range(50)), unit_vectors(50, 8))
    index.save(tmp_path / "i")
    f = tmp_path / "i" / "index.faiss"
    data = f.read_bytes()
    if damage == "truncate":
        f.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        f.write_bytes(data[:-10] + bytes(10))
    else:
        f.unlink()
    with pytest.raises(CorruptFileError, match="save the folder again"):
        FaissIndex.load(tmp_path / "i")


def test_l2_metric_orders_nearest_first() -> None:
    """With L2 the nearest vector scores highest (scores are negated distances)."""
    x = unit_vectors(30, 8)
    index = FaissIndex.from_options(metric="l2")
    index.add(list(range(30)), x)
    hits = index.search(x[3], k=3)
    assert hits[0].id == 3 and hits[0].score == pytest.approx(0.0, abs=1e-5)


def test_metadata_shared_by_items_is_kept_and_saved_once(tmp_path) -> None:  # noqa: ANN001
    """A document's metadata was copied for each of its passages, in memory, on disk and at every load; one copy is
    kept for the items given the same mapping. A folder of file version 1 (a copy per item, the ids as pairs)
    still loads."""
    from latentstack.storage import sha256_file, update_manifest

    rng = np.random.default_rng(0)
    a, b = {"source": "a.md", "year": 2020}, {"source": "b.md", "year": 2021}
    index = FaissIndex.from_options(factory="Flat")
    index.add([f"a{i}" for i in range(3)] + ["b0", "b1", "none"], rng.standard_normal((6, 8)), [a, a, a, b, b, {}])
    assert len({id(m) for m in index.meta.values()}) == 2
    index.save(tmp_path / "f")
    saved = json.loads((tmp_path / "f" / "metadata.json").read_text())
    assert saved["values"] == [a, b] and saved["of"] == [0, 0, 0, 1, 1]
    again = FaissIndex.load(tmp_path / "f")
    assert again.meta == index.meta and len({id(m) for m in again.meta.values()}) == 2
    assert (again.id_of, again.label_of) == (index.id_of, index.label_of)
    q = rng.standard_normal(8)
    assert {h.id for h in again.search(q, k=6, where={"source": "b.md"})} == {"b0", "b1"}
    (tmp_path / "f" / "metadata.json").write_text(json.dumps({str(lab): m for lab, m in index.meta.items()}))
    (tmp_path / "f" / "ids.json").write_text(json.dumps([[lab, ext] for lab, ext in index.id_of.items()]))
    update_manifest(tmp_path / "f", lambda body: body.update(version=1) or body["files"].update(
        {name: sha256_file(tmp_path / "f" / name) for name in ("metadata.json", "ids.json")}))
    old = FaissIndex.load(tmp_path / "f")
    assert (old.meta, old.id_of, old.label_of) == (index.meta, index.id_of, index.label_of)
    assert {h.id for h in old.search(q, k=6, where={"year": 2020})} == {"a0", "a1", "a2"}
