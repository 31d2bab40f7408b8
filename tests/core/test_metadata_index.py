"""The payload index answers every filter as testing each item would: same items, same errors."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from latentstack.errors import InputError
from latentstack.metadata import matching_mask
from latentstack.metadata_index import MetadataIndex

POOL: list[Any] = ["en", "fr", "2020", " 1.5 ", "true", "True", "false", "2024-01-01", "2023-12-31", "", "a", 2020,
                   2019, 1.5, 0, 1, True, False, -3.25, None, float("nan"), float("inf"), {"x": 1}, 10**20,
                   np.float32(0.1), np.int64(7), np.bool_(True)]
OPERANDS: list[Any] = ["en", "fr", "2020", "true", "True", "2024-01-01", "a", "", 2020, 2019.5, 1.5, 0, 1, True, False,
                       -3.25, "1.5"]
OPS = ["$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$glob"]
PATTERNS = ["e*", "*n", "20?0", "[tT]rue", "*", "", "2024-*", "*.5*", "{*", "a"]


def _value(rng: random.Random) -> Any:
    return [rng.choice(POOL) for _ in range(rng.randint(0, 3))] if rng.random() < 0.2 else rng.choice(POOL)


def _operand(rng: random.Random, op: str) -> Any:
    if op in ("$in", "$nin"):
        return [rng.choice(OPERANDS) for _ in range(rng.randint(1, 3))]
    if op == "$glob":
        return rng.choice(PATTERNS) if rng.random() < 0.7 else rng.sample(PATTERNS, rng.randint(1, 3))
    return rng.choice([o for o in OPERANDS if not isinstance(o, bool)] if op.startswith(("$g", "$l")) else OPERANDS)


def _filter(rng: random.Random, keys: list[str]) -> dict[str, Any]:
    where: dict[str, Any] = {}
    for key in rng.sample(keys, rng.randint(1, min(2, len(keys)))):
        r = rng.random()
        where[key] = (rng.choice(OPERANDS) if r < 0.3 else [rng.choice(OPERANDS) for _ in range(rng.randint(1, 3))]
                      if r < 0.45 else {op: _operand(rng, op) for op in rng.sample(OPS, rng.randint(1, 2))})
    return where


def _answer(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args).tolist()
    except InputError as exc:
        return str(exc)


def test_it_agrees_with_testing_each_item_on_random_items_and_filters() -> None:
    """Strings, numbers, numbers written as text, booleans, NumPy scalars, NaN, lists, missing keys and unknown keys;
    equalities, exclusions, numeric and text bounds, shell patterns, two operators on one key."""
    rng = random.Random(0)
    for _ in range(150):
        keys = [f"k{i}" for i in range(rng.randint(1, 4))]
        metas = [{k: _value(rng) for k in keys if rng.random() < 0.8} for _ in range(rng.randint(0, 60))]
        index = MetadataIndex(metas)
        for _ in range(20):
            where = _filter(rng, keys + (["typo"] if rng.random() < 0.05 else []))
            assert _answer(index.mask, where) == _answer(matching_mask, metas, where), where


def test_it_agrees_when_items_share_their_mappings() -> None:
    """A document's passages share one mapping object, added together: the index passes over the distinct mappings
    (a document may come back later, as a re-added one does) and spreads each one's values to the items holding
    it; the answers stay those of testing every item."""
    rng = random.Random(1)
    for _ in range(150):
        keys = [f"k{i}" for i in range(rng.randint(1, 4))]
        docs = [{k: _value(rng) for k in keys if rng.random() < 0.8} for _ in range(rng.randint(1, 12))]
        metas = [doc for _ in range(rng.randint(1, 16)) for doc in [rng.choice(docs)] * rng.randint(2, 6)]
        index = MetadataIndex(metas)
        for _ in range(20):
            where = _filter(rng, keys + (["typo"] if rng.random() < 0.05 else []))
            assert _answer(index.mask, where) == _answer(matching_mask, metas, where), where
        assert index._groups, "the shared path was not taken"


def test_lookups_find_values_bounds_and_exclusions() -> None:
    metas = [{"lang": "en", "year": 2019}, {"lang": ["fr", "de"], "year": "2021"}, {"year": "n/a"}, {"lang": "de"}]
    index = MetadataIndex(metas)
    assert index.mask({"lang": "de"}).tolist() == [False, True, False, True]
    assert index.mask({"lang": {"$nin": ["fr"]}}).tolist() == [True, False, False, True]
    assert index.mask({"year": {"$gte": 2020}}).tolist() == [False, True, False, False]
    assert index.mask({"year": {"$gt": "2020-06"}}).tolist() == [False, True, True, False]  # a text bound: texts
    assert index.mask({"year": {"$lte": 2019}, "lang": "en"}).tolist() == [True, False, False, False]
    with pytest.raises(InputError, match="unknown metadata key"):
        index.mask({"langs": "en"})
    with pytest.raises(InputError, match="operator"):
        index.mask({"lang": {"$like": "e"}})
