"""zscore fusion: a lexical list shorter than the dense one is scored over the whole pool, the rest scoring 0."""

from __future__ import annotations

from latentstack.interfaces import Hit
from latentstack.search.fusion import fuse

DENSE = [Hit(f"p{i}", 0.80 - 0.002 * i, {}) for i in range(100)]  # a flat, unsure dense ranking


def _rank(fused: list[Hit], doc: str) -> int:
    return [h.id for h in fused].index(doc)


def test_a_word_found_in_one_passage_alone_counts() -> None:
    """An invoice number or a name that one passage alone holds: BM25 lists that passage only. A list of one has
    no spread, so its z-score was 0 and the lexical index counted for nothing; beside the passages scoring 0 it
    stands out, and the hybrid finds what BM25 finds."""
    alone = fuse(DENSE, [Hit("p70", 9.1, {})])
    assert _rank(alone, "p70") == 0
    assert [h.id for h in alone if h.id != "p70"] == [h.id for h in DENSE if h.id != "p70"]  # the rest as dense


def test_passages_that_score_alike_stand_out() -> None:
    """Two passages holding the query's one word, scoring alike, were a list with no spread: z 0 each."""
    fused = fuse(DENSE, [Hit("p70", 5.0, {}), Hit("p80", 5.0, {})])
    assert {h.id for h in fused[:2]} == {"p70", "p80"}


def test_a_lexical_list_as_long_as_the_pool_is_scored_as_before() -> None:
    """Where BM25 lists every candidate, nothing joins it: its z-scores are over its own list."""
    lexical = [Hit(f"p{i}", float(i + 1), {}) for i in range(100)][::-1]  # the reverse of the dense order
    fused = {h.id: h.score for h in fuse(DENSE, lexical)}
    assert abs(fused["p0"] - fused["p99"]) < 1e-6  # the two rankings, reversed, cancel out at the ends


def test_no_lexical_match_leaves_the_dense_ranking() -> None:
    assert [h.id for h in fuse(DENSE, [])] == [h.id for h in DENSE]
