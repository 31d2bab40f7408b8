"""Prompt lookup decoding's proposals: what followed the answer's last tokens where they occurred before."""

from __future__ import annotations

from latentstack.prompt_lookup import NgramIndex


def test_the_tokens_after_the_latest_earlier_occurrence_are_proposed_the_longest_match_first() -> None:
    index = NgramIndex([1, 2, 3, 4, 9, 2, 3, 5, 6, 1, 2, 3])
    assert index.propose(3) == [4, 9, 2]  # after (1, 2, 3), not after the later (2, 3)
    index.append(4)
    assert index.propose(2) == [9, 2]  # (2, 3, 4) occurred before
    assert NgramIndex([7, 1, 2, 8, 1, 2, 9, 1, 2]).propose(2) == [9, 1]  # the latest earlier (1, 2)
    assert NgramIndex([7, 1, 2, 8, 1, 2, 9, 1, 2]).propose(5) == [9, 1, 2, 9, 1]  # ... running into a loop
    assert NgramIndex([1, 2, 3]).propose(4) == []  # nothing repeats
    index = NgramIndex([1, 2, 1, 2])
    assert index.propose(5) == [1, 2, 1, 2, 1]  # what followed the earlier (1, 2), up to the present, repeated
    assert index.propose(0) == []
