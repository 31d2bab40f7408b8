"""Passage selection: dedup, token budget, numbering; the prompt's shape."""

import attrs

from latentstack.rag.prompt import build_messages, select_passages


@attrs.frozen
class FakeHit:
    chunk_id: int
    doc_id: str
    title: str
    text: str
    score: float
    start: int = 0
    end: int = 0


def count(text):
    return len(text.split())


def test_duplicates_dropped_and_numbers_are_consecutive():
    hits = [FakeHit(1, "a", "A", "one two three", 0.9), FakeHit(2, "b", "B", "one  two three", 0.8),
            FakeHit(3, "c", "C", "four five", 0.7)]
    got = select_passages(hits, 100, count)
    assert [(p.number, p.doc_id) for p in got] == [(1, "a"), (2, "c")]


def test_budget_cuts_the_last_passage_at_a_word_boundary():
    hits = [FakeHit(1, "a", "", " ".join(["w"] * 60), 0.9), FakeHit(2, "b", "", " ".join(["x"] * 80), 0.8)]
    got = select_passages(hits, 100, count, min_tokens=10)
    assert [count(p.text) for p in got] == [60, 40]
    assert got[1].end - got[1].start == len(got[1].text)
    assert len(select_passages(hits, 65, count, min_tokens=10)) == 1


def test_messages_number_passages_and_end_with_the_question():
    hits = [FakeHit(1, "a", "Bread", "Yeast makes dough rise.", 0.9)]
    msgs = build_messages("Why does dough rise?", select_passages(hits, 100, count))
    assert msgs[0]["role"] == "system" and "[1]" in msgs[0]["content"]
    assert "[1] (Bread) Yeast makes dough rise." in msgs[1]["content"]
    assert msgs[1]["content"].endswith("Question: Why does dough rise?")
    closed = build_messages("Why?", [])
    assert "Passages" not in closed[-1]["content"]


def test_parse_messages_reads_back_what_build_messages_wrote() -> None:
    from latentstack.rag.prompt import Passage, build_messages, parse_messages

    passages = [Passage(1, "the cat sat", "cat", "Cats"), Passage(2, "the dog ran", "dog", "")]
    assert parse_messages(build_messages("where did it sit?", passages)) == (
        "where did it sit?", {1: "(Cats) the cat sat", 2: "the dog ran"})
