"""The kept-prefix slots shared by generators that keep their last answers' KV caches."""

from __future__ import annotations

from latentstack.kept_prefix import KeptPrefix, shared_length


def test_a_prompt_sharing_little_leaves_the_kept_state_to_its_own_chat() -> None:
    """Two chats that share only the template's opening: the second must not take (and cut back) the first's."""
    slots: KeptPrefix[str] = KeptPrefix(2)
    opening, first, second = [1, 2], [1, 2, *range(10, 40)], [1, 2, *range(50, 80)]
    slots.keep("", first, "first chat's")
    assert slots.take("", second) is None  # 2 of 32 shared: under a third
    slots.keep("", second, "second chat's")
    assert slots.take("", [*first, 99]) == ("first chat's", len(first))
    assert slots.take("", [*second, 99]) == ("second chat's", len(second))
    assert shared_length(opening, first) == 2


def test_one_slot_drops_the_unused_state_before_the_new_answer_is_made() -> None:
    slots: KeptPrefix[str] = KeptPrefix(1)
    slots.keep("", [1, 2, 3, 4], "kept")
    assert slots.take("", [7, 8, 9]) is None
    assert slots.take("", [1, 2, 3, 4, 5]) is None  # dropped: its memory is not held beside the new answer's


def test_a_state_is_taken_by_one_answer_only_and_never_across_keys() -> None:
    slots: KeptPrefix[str] = KeptPrefix(2)
    slots.keep("adapter-a", [1, 2, 3], "a")
    assert slots.take("adapter-b", [1, 2, 3, 4]) is None
    assert slots.take("adapter-a", [1, 2, 3, 4]) == ("a", 3)
    assert slots.take("adapter-a", [1, 2, 3, 4]) is None
    slots.keep("adapter-a", [1, 2, 3], "a")
    assert slots.take("adapter-a", [1, 2, 3]) == ("a", 2)  # the same prompt: its last token read again
    slots.keep("adapter-a", [1, 2, 3], "a")
    assert slots.take("adapter-a", [1, 2, 3], usable=lambda state, n: False) is None


def test_a_state_is_kept_after_its_answer_ends_or_closes_between_pieces_not_after_an_error() -> None:
    import pytest

    from latentstack.kept_prefix import kept_after

    kept: list[str] = []
    assert list(kept_after(iter("ab"), lambda: kept.append("ran out"))) == ["a", "b"]
    stream = kept_after(iter("abc"), lambda: kept.append("closed"))
    next(stream)
    stream.close()

    def failing() -> object:
        yield "a"
        raise RuntimeError("a forward pass failed")

    with pytest.raises(RuntimeError):
        list(kept_after(failing(), lambda: kept.append("failed")))
    assert kept == ["ran out", "closed"]
    assert list(kept_after(iter("a"), None)) == ["a"]  # nothing to keep


class _Weighed(KeptPrefix[int]):
    """States that are their own weight in MiB."""

    def size(self, state: int) -> int:
        return state * 2**20


def test_older_states_go_while_together_they_weigh_more_than_the_budget() -> None:
    slots = _Weighed(3, budget_mb=5)
    slots.keep("", [1, 1, 1], 2)
    slots.keep("", [2, 2, 2], 2)
    assert slots.held_bytes == 4 * 2**20
    slots.keep("", [3, 3, 3], 2)  # 6 MiB together: the least recently kept goes
    assert slots.held_bytes == 4 * 2**20
    assert slots.take("", [2, 2, 2, 9]) == (2, 3)
    slots.keep("", [2, 2, 2], 2)
    slots.keep("", [4, 4, 4], 9)  # over the budget alone: the last answer's stays, the others go
    assert slots.held_bytes == 9 * 2**20
    assert slots.take("", [4, 4, 4, 9]) == (9, 3)


def test_a_budget_of_none_keeps_only_the_last_answers_state() -> None:
    slots = _Weighed(4, budget_mb=0)
    for i in range(3):
        slots.keep("", [i] * 3, 1)
    assert slots.held_bytes == 2**20
    assert slots.take("", [2, 2, 2, 9]) == (1, 3)


def test_the_budget_is_a_whole_number_of_mib() -> None:
    import attrs
    import pytest

    from latentstack.kept_prefix import budget_option

    @attrs.frozen
    class Config:
        prefix_cache_mb: int = budget_option()

    assert Config().prefix_cache_mb == 2048
    for wrong in (-1, 1.5, True):
        with pytest.raises(ValueError, match="prefix_cache_mb is the MiB the kept KV caches"):
            Config(wrong)


def test_a_state_holding_more_past_the_shared_beginning_than_in_it_is_left_to_its_own_chat() -> None:
    """Two chats whose short first messages share the model's default system prompt, over a third of each."""
    slots: KeptPrefix[str] = KeptPrefix(2)
    system = list(range(24))
    first, second = [*system, *range(100, 140)], [*system, *range(200, 247)]
    slots.keep("", first, "first chat's")
    assert slots.take("", second) is None  # 24 of 71 shared, but 40 held past them
    slots.keep("", second, "second chat's")
    assert slots.take("", [*first, 99]) == ("first chat's", len(first))
    slots.keep("", [*system, 7, 8], "a greeting's")  # holding little past the system prompt: worth taking
    assert slots.take("", [*system, *range(300, 340)]) == ("a greeting's", 24)
