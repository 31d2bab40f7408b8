"""The contracts every Index meets: dense vectors (IndexContract) or texts (TextIndexContract)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from latentstack.errors import InputError, LatentstackError
from latentstack.interfaces import Index
from latentstack.testing.folder_checks import assert_damage_is_one_line


def check_set_metadata(index: Index, query: Any, ids: list[Any], tmp_path: Path) -> None:
    """``set_metadata`` (where the index says it can): ``ids[:2]`` take new mappings, which replace the old whole,
    filters and hits follow, the ranking stays, bad calls change nothing, and a save keeps the change. ``query``
    finds ``ids[:2]`` among its first ten hits."""
    if not index.sets_metadata:
        pytest.skip(f"the {index.name} index does not set metadata alone")
    ranked = [h.id for h in index.search(query, k=10)]
    new: list[dict[str, Any]] = [{"tag": "new"}, {"tag": "new", "rank": -1}]
    index.set_metadata(ids[:2], new)
    tagged = {h.id: h.metadata for h in index.search(query, k=10, where={"tag": "new"})}
    assert tagged == dict(zip(ids[:2], new, strict=True))
    assert [h.id for h in index.search(query, k=10)] == ranked
    with pytest.raises(InputError, match="not in the index"):
        index.set_metadata([ids[0], "no-such-id"], [{"tag": "old"}, {}])
    with pytest.raises(InputError, match="one per id"):
        index.set_metadata([ids[0]], [])
    with pytest.raises(InputError, match="a metadata row is a str: give a dict"):
        index.set_metadata([ids[0], ids[1]], [{"tag": "old"}, "tag=old"])  # type: ignore[list-item]
    assert {h.id: h.metadata for h in index.search(query, k=10, where={"tag": "new"})} == tagged
    index.save(tmp_path / "relabeled")
    again = type(index).load(tmp_path / "relabeled")
    assert {h.id for h in again.search(query, k=10, where={"tag": "new"})} == set(ids[:2])


def check_hits_own_metadata(index: Index, query: Any) -> None:
    """A hit's metadata is a copy: changing it changes nothing stored (a document's passages may share one)."""
    hit = index.search(query, k=1)[0]
    kept = dict(hit.metadata)
    hit.metadata["changed"] = True  # type: ignore[index]  # a dict, as every index here gives
    assert index.search(query, k=1)[0].metadata == kept


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
        """The index with ``n`` vectors under string ids, every other one tagged even, each with its rank."""
        x = unit_vectors(self.n, self.dim)
        ids = [f"doc{i}" for i in range(self.n)]
        index.add(ids, x, [{"parity": "even" if i % 2 == 0 else "odd", "rank": i} for i in range(self.n)])
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
        either = index.search(x[0], k=10, where={"parity": ["odd", "even"]})  # a list matches any of its values
        assert [h.id for h in either] == [h.id for h in index.search(x[0], k=10)]

    def test_where_operators(self, filled) -> None:  # noqa: ANN001
        """Ranges and exclusions (``latentstack.metadata.matches`` reads them): every hit meets them, as many as
        k; an unknown operator is an error, not an empty answer."""
        from latentstack.errors import InputError

        index, x, _ = filled
        ranged = index.search(x[0], k=20, where={"rank": {"$gte": 50, "$lt": 60}})
        assert sorted(h.metadata["rank"] for h in ranged) == list(range(50, 60))
        assert [h.id for h in index.search(x[0], k=10, where={"parity": {"$ne": "odd"}})] == [
            h.id for h in index.search(x[0], k=10, where={"parity": "even"})]
        with pytest.raises(InputError, match="operator '\\$like'"):
            index.search(x[0], k=10, where={"parity": {"$like": "od%"}})

    def test_a_filter_follows_adds_replacements_and_removals(self, filled) -> None:  # noqa: ANN001
        """An index may keep its metadata indexed between searches; the next filtered search still sees every
        change: a new item, an item added again with other metadata, a removed one."""
        index, x, ids = filled
        assert {h.id for h in index.search(x[0], k=5, where={"rank": {"$lt": 3}})} == set(ids[:3])
        index.add(["new"], x[5:6] * -1.0, [{"parity": "odd", "rank": 1}])
        index.add([ids[0]], x[:1], [{"parity": "even", "rank": 999}])
        index.remove([ids[2]])
        assert {h.id for h in index.search(x[0], k=5, where={"rank": {"$lt": 3}})} == {ids[1], "new"}
        assert [h.id for h in index.search(x[0], k=1, where={"rank": 999})] == [ids[0]]

    def test_metadata_set_alone(self, filled, tmp_path) -> None:  # noqa: ANN001
        """``set_metadata`` replaces items' metadata and leaves their vectors (``check_set_metadata``)."""
        index, x, ids = filled
        check_set_metadata(index, x[0], ids, tmp_path)

    def test_hits_own_their_metadata(self, filled) -> None:  # noqa: ANN001
        """Changing a hit's metadata changes nothing stored."""
        index, x, _ = filled
        check_hits_own_metadata(index, x[0])

    def test_numpy_ids_are_saved_as_python_ids(self, index: Index, tmp_path) -> None:  # noqa: ANN001
        """Ids from np.arange were kept as np.int64, and the save failed: "Object of type int64 is not JSON
        serializable". An id of another type than str or int is refused when added."""
        x = unit_vectors(self.n, self.dim)
        index.add(np.arange(self.n), x)  # type: ignore[arg-type]  # NumPy ids, as users pass them
        index.save(tmp_path / "idx")
        hit = type(index).load(tmp_path / "idx").search(x[2], k=1)[0]
        assert hit.id == 2 and type(hit.id) is int
        with pytest.raises(InputError, match="an id is 1.5 \\(float\\): ids are str or int"):
            index.add([1.5], x[:1])  # type: ignore[list-item]  # refused

    def test_save_load_round_trip(self, filled, tmp_path) -> None:  # noqa: ANN001
        """A saved and reloaded index answers the same, removals included."""
        index, x, ids = filled
        index.remove([ids[5]])
        index.save(tmp_path / "idx")
        again = type(index).load(tmp_path / "idx")
        assert len(again) == len(index)
        assert [h.id for h in again.search(x[5], k=5)] == [h.id for h in index.search(x[5], k=5)]

    def test_damaged_folder_is_one_line_error(self, filled, tmp_path) -> None:  # noqa: ANN001
        """Each saved file truncated, garbled, replaced by wrong-shape JSON or deleted: one clear line."""
        index, _, _ = filled
        index.save(tmp_path / "idx")
        assert_damage_is_one_line(tmp_path / "idx", tmp_path / "damaged", type(index).load)

    def test_one_id_given_alone_is_refused(self, filled) -> None:  # noqa: ANN001
        """A str of ids was one id per character: remove("doc3") removed the ids d, o, c, 3 (if present)."""
        index, x, ids = filled
        with pytest.raises(InputError, match="wrap one id in a list"):
            index.remove(ids[3])
        with pytest.raises(InputError, match="wrap one id in a list"):
            index.add("abc", x[:3])
        assert len(index) == self.n

    def test_one_query_as_a_vector_a_row_or_a_list(self, filled) -> None:  # noqa: ANN001
        """search takes one query as a 1-d vector, a single row or a list; several rows go to search_batch."""
        index, x, ids = filled
        assert [h.id for h in index.search(x[7:8], k=3)] == [h.id for h in index.search(x[7], k=3)]
        assert index.search(x[7].tolist(), k=1)[0].id == ids[7]
        with pytest.raises(InputError, match="search_batch"):
            index.search(x[:2], k=3)

    def test_wrong_dimension_raises(self, filled) -> None:  # noqa: ANN001
        """A query of the wrong length is a clear error, not a crash."""
        index, _, _ = filled
        with pytest.raises(LatentstackError, match="dim"):
            index.search(np.ones(self.dim + 1, dtype=np.float32))


DOCS = [
    "the cat sat on the mat",
    "stock markets fell sharply on monday",
    "claim your free prize now by texting win",
    "volcanoes erupt when magma rises through the crust",
    "the dog chased the cat around the garden",
    "interest rates and stock prices moved together",
]


class TextIndexContract:
    """Subclass and provide an empty ``index`` fixture of an Index with ``accepts_text = True``."""

    docs = DOCS

    @pytest.fixture
    def index(self) -> Index:
        """Override: return an empty text index."""
        raise NotImplementedError

    @pytest.fixture
    def filled(self, index: Index) -> Index:
        """The index holding ``docs`` under ids d0.., tagged by whether they mention a cat."""
        index.add([f"d{i}" for i in range(len(self.docs))], self.docs,
                  [{"cat": "cat" in d} for d in self.docs])
        return index

    def test_accepts_text(self, index: Index) -> None:
        """A text index says so, so that a collection can use it for lexical search."""
        assert isinstance(index, Index) and index.accepts_text and index.name

    def test_one_id_given_alone_is_refused(self, filled: Index) -> None:
        """A str of ids was one id per character."""
        with pytest.raises(InputError, match="wrap one id in a list"):
            filled.remove("d3")
        with pytest.raises(InputError, match="wrap one id in a list"):
            filled.add("abc", ["one", "two", "three"])
        assert len(filled) == len(self.docs)

    def test_numpy_ids_are_saved_as_python_ids(self, index: Index, tmp_path) -> None:  # noqa: ANN001
        """Ids from np.arange were kept as np.int64, and the save failed (not JSON serializable)."""
        index.add(np.arange(len(self.docs)), self.docs)  # type: ignore[arg-type]
        index.save(tmp_path / "idx")
        hit = type(index).load(tmp_path / "idx").search("volcanoes magma crust", k=1)[0]
        assert hit.id == self.docs.index(next(d for d in self.docs if "volcano" in d)) and type(hit.id) is int

    def test_words_find_their_document(self, filled: Index) -> None:
        """A query made of a document's rare words finds it first, scores descending."""
        hits = filled.search("volcanoes magma crust", k=3)
        assert hits[0].id == "d3"
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    @pytest.mark.parametrize("query", ["???", "the of and", "  -- !"])
    def test_a_query_without_words_finds_nothing(self, filled: Index, query: str) -> None:
        """Punctuation or stop words alone match no text: no hits, not an error (a hybrid search, the default,
        passes every query to its text index)."""
        assert filled.search(query, k=3) == []

    def test_batch_equals_single(self, filled: Index) -> None:
        """search_batch gives the same ids as one query at a time."""
        queries = ["stock markets", "cat garden"]
        batch = filled.search_batch(queries, k=2)
        assert [[h.id for h in hs] for hs in batch] == [[h.id for h in filled.search(q, k=2)] for q in queries]

    def test_remove_and_replace(self, filled: Index) -> None:
        """A removed id never comes back; adding an existing id replaces its text."""
        assert filled.remove(["d3"]) == 1
        assert "d3" not in [h.id for h in filled.search("volcanoes magma crust", k=5)]
        filled.add(["d0"], ["penguins swim in cold antarctic water"], [{"cat": False}])
        assert filled.search("penguins antarctic", k=1)[0].id == "d0"
        assert len(filled) == len(self.docs) - 1

    def test_where_filter(self, filled: Index) -> None:
        """Every hit matches the metadata filter."""
        hits = filled.search("the cat", k=5, where={"cat": True})
        assert hits and all(h.metadata["cat"] is True for h in hits)
        either = filled.search("the cat", k=5, where={"cat": [True, False]})  # a list matches any of its values
        assert [h.id for h in either] == [h.id for h in filled.search("the cat", k=5)]
        others = filled.search("cat stock", k=5, where={"cat": {"$ne": True}})  # an operator (metadata.matches reads it)
        assert others and all(h.metadata["cat"] is False for h in others)

    def test_a_filter_follows_adds_replacements_and_removals(self, filled: Index) -> None:
        """An index may keep its metadata indexed between searches; the next filtered search still sees every
        change: a new text, a text added again with other metadata, a removed one."""
        assert {h.id for h in filled.search("cat", k=9, where={"cat": True})} == {"d0", "d4"}
        filled.add(["new"], ["a cat on a mat"], [{"cat": True}])
        filled.add(["d0"], ["the cat came back"], [{"cat": False}])
        filled.remove(["d4"])
        assert {h.id for h in filled.search("cat", k=9, where={"cat": True})} == {"new"}
        assert "d0" in {h.id for h in filled.search("cat", k=9, where={"cat": False})}

    def test_metadata_set_alone(self, filled: Index, tmp_path) -> None:  # noqa: ANN001
        """``set_metadata`` replaces texts' metadata and leaves their texts (``check_set_metadata``)."""
        check_set_metadata(filled, "cat stock", ["d0", "d1"], tmp_path)

    def test_hits_own_their_metadata(self, filled: Index) -> None:
        """Changing a hit's metadata changes nothing stored."""
        check_hits_own_metadata(filled, "volcanoes magma")

    def test_save_load_round_trip(self, filled: Index, tmp_path) -> None:  # noqa: ANN001
        """A saved and reloaded index answers the same."""
        filled.save(tmp_path / "idx")
        again = type(filled).load(tmp_path / "idx")
        assert len(again) == len(filled)
        assert [h.id for h in again.search("stock prices", k=3)] == [h.id for h in filled.search("stock prices", k=3)]

    def test_damaged_folder_is_one_line_error(self, filled: Index, tmp_path) -> None:  # noqa: ANN001
        """Each saved file truncated, garbled, replaced by wrong-shape JSON or deleted: one clear line."""
        filled.save(tmp_path / "idx")
        assert_damage_is_one_line(tmp_path / "idx", tmp_path / "damaged", type(filled).load)
