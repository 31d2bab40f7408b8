"""Metadata filter operators: ranges and exclusions, as Chroma and MongoDB write them and as --where types them."""

from __future__ import annotations

import numpy as np
import pytest

from latentstack.errors import InputError
from latentstack.metadata import check_where, matches, parse_where


@pytest.mark.parametrize(("value", "inside"), [(2019, False), (2020, True), ("2021", True), (2023.5, True), (2024, False),
                                               ("n/a", False), (True, False), (np.int64(2022), True)])
def test_a_numeric_range_compares_numbers(value: object, inside: bool) -> None:
    """Only a filter of equal values could be given (an operator was refused), so "from 2020 on" could not be
    asked. A bound that is a number compares numbers: "2021" written as text counts, "n/a" and booleans do not."""
    where = {"year": {"$gte": 2020, "$lt": 2024}}
    check_where(where)
    assert matches({"year": value}, where) is inside
    assert not matches({}, where)  # an item without the key matches nothing


def test_a_text_bound_compares_strings_so_iso_dates_order() -> None:
    where = {"date": {"$gte": "2024-01-01", "$lte": "2024-12-31"}}
    assert [matches({"date": d}, where) for d in ("2023-12-31", "2024-01-01", "2024-06-15", "2025-01-01")] == [
        False, True, True, False]


def test_exclusions_and_lists() -> None:
    assert matches({"lang": "en"}, {"lang": {"$ne": "fr"}}) and not matches({"lang": "fr"}, {"lang": {"$ne": "fr"}})
    assert matches({"lang": "en"}, {"lang": {"$in": ["en", "de"]}}) and not matches({"lang": "en"}, {"lang": {"$nin": ["en"]}})
    assert matches({"draft": True}, {"draft": {"$eq": "true"}}) and matches({"n": 2020}, {"n": {"$eq": "2020"}})


def test_the_command_line_types_comparisons() -> None:
    """`--where year>=2020 --where year<2024` is a range (both hold), `lang!=en` twice excludes both, `key=value`
    twice still matches either, and a value may hold the signs after the first."""
    where = parse_where(["year>=2020", "year<2024", "lang!=en", "lang!=fr", "topic=a", "topic=b", "url=a=b<c",
                         "size <= 3", "n>1"])
    assert where == {"year": {"$gte": "2020", "$lt": "2024"}, "lang": {"$nin": ["en", "fr"]}, "topic": ["a", "b"],
                     "url": "a=b<c", "size": {"$lte": "3"}, "n": {"$gt": "1"}}
    check_where(where)
    item = {"year": 2021, "lang": "de", "topic": "a", "url": "a=b<c", "size": "3", "n": 1.5}
    assert matches(item, where) and not matches({**item, "year": "2024"}, where)
    assert parse_where(["year>=2020", "year=2021"]) == {"year": {"$gte": "2020", "$in": ["2021"]}}
    assert parse_where(["lang==en"]) == {"lang": "en"}  # equality as Python writes it (it matched the text "=en")


@pytest.mark.parametrize(("pairs", "said"), [(["year"], "--where takes key=value, a comparison such as year>=2020"),
                                             ([">3"], "got '>3'"), (["a!b"], "got 'a!b'"),
                                             (["y>=1", "y>=2"], "--where gives y>= twice; give each bound once"),
                                             (["year=>2020"], "=> is not a comparison; write year>=2020"),
                                             (["year=<2020"], "=< is not a comparison; write year<=2020")])
def test_a_pair_without_a_comparison_is_refused(pairs: list[str], said: str) -> None:
    with pytest.raises(InputError, match=said):
        parse_where(pairs)


@pytest.mark.parametrize(("where", "said"), [
    ({"a": {"$like": "x%"}}, "'a' has operator '\\$like'; operators are \\$eq, \\$ne, \\$in, \\$nin, \\$gt"),
    ({"a": {}}, "value for 'a' is an empty dict"),
    ({"a": {"$gt": True}}, "'a' \\$gt takes one number or str"),
    ({"a": {"$gt": [1, 2]}}, "'a' \\$gt takes one number or str"),
    ({"a": {"$in": []}}, "'a' \\$in takes a non-empty list"),
    ({"a": {"$in": "en"}}, None),  # one value for $in reads as a list of one, as a plain value does
    ({"a": {"$ne": None}}, "'a' \\$ne takes one str, number or bool"),
])
def test_a_bad_operator_is_one_line(where: dict[str, object], said: str | None) -> None:
    if said is None:
        check_where(where)
        return
    with pytest.raises(InputError, match=said):
        check_where(where)


def test_a_shell_pattern_matches_a_folders_files() -> None:
    """`--where file~notes/work/*` keeps one folder's files (an equality needed every path); `*` crosses `/`, case
    counts, a list of patterns matches when one does, and a list value (tags) when one of its values does."""
    where = parse_where(["file~notes/work/*", "file~*.pdf"])
    assert where == {"file": {"$glob": ["notes/work/*", "*.pdf"]}}
    check_where(where)
    files = ["notes/work/a.md", "notes/work/2024/b.md", "notes/home/c.md", "Notes/work/d.md", "papers/e.pdf"]
    assert [matches({"file": f}, where) for f in files] == [True, True, False, False, True]
    assert matches({"tags": ["baking", "bread"]}, {"tags": {"$glob": "bre?d"}})
    assert matches({"year": 2024}, {"year": {"$glob": "202[34]"}}) and not matches({}, {"year": {"$glob": "*"}})
    with pytest.raises(InputError, match="'file' \\$glob takes a pattern \\(str\\) or a non-empty list of them"):
        check_where({"file": {"$glob": 3}})


def test_a_list_of_values_matches_when_one_does() -> None:
    """A note's tags: `tags=bread` matched the text "['baking', 'bread']" only, that is never."""
    tags = {"tags": ["baking", "bread"]}
    assert matches(tags, {"tags": "bread"}) and matches(tags, {"tags": ["cake", "baking"]})
    assert not matches(tags, {"tags": "cake"}) and not matches(tags, {"tags": {"$ne": "bread"}})
    assert matches(tags, {"tags": {"$nin": ["cake"]}}) and matches({"years": [2019, 2024]}, {"years": {"$gt": 2020}})
