"""What a filter can ask for: each key's values, and why a filter matched nothing (the condition no document meets)."""

from __future__ import annotations

from latentstack.search.facets import no_match_reason

METAS = [{"lang": "en", "year": 2020}, {"lang": "fr", "year": 2023, "tags": ["a", "b"]}, {"lang": "de"}]


def test_a_value_no_document_holds_names_the_values_held() -> None:
    assert no_match_reason(METAS, {"lang": "EN"}) == 'no document\'s lang meets "EN"; its values: de, en, fr'
    assert no_match_reason(METAS, {"year": {"$gte": 2030}}) == (
        'no document\'s year meets {"$gte": 2030}; its values: 2020, 2023')
    assert no_match_reason(METAS, {"tags": "c"}) == 'no document\'s tags meets "c"; its values: a, b'


def test_conditions_met_apart_but_not_together() -> None:
    assert no_match_reason(METAS, {"lang": "en", "year": 2023}) == (
        'no document meets all of the filter\'s conditions at once: {"lang": "en", "year": 2023}')


def test_none_when_the_filter_matches_and_many_values_are_cut() -> None:
    assert no_match_reason(METAS, {"lang": ["en", "xx"]}) is None
    many = [{"n": i} for i in range(25)]
    assert no_match_reason(many, {"n": 99}).endswith("0, 1, 10, 11, 12, 13, 14, 15, 16, 17 and 15 more")


def test_each_key_counts_its_documents_and_values() -> None:
    """What `index info` shows, so that a --where value need not be guessed: list values count each one once."""
    from latentstack.search.facets import metadata_values

    metas = [*METAS, {"tags": ["a", "a"], "year": "2020"}]
    assert metadata_values(metas) == {
        "lang": {"documents": 3, "distinct": 3, "values": {"de": 1, "en": 1, "fr": 1}},
        "tags": {"documents": 2, "distinct": 2, "values": {"a": 2, "b": 1}},
        "year": {"documents": 3, "distinct": 2, "values": {"2020": 2, "2023": 1}},
    }
    assert metadata_values([{"id": i} for i in range(30)])["id"] == {"documents": 30, "distinct": 30}
