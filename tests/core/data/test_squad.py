"""SQuAD loading, the article halves, and SFT examples built from one half only."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentstack.data.squad import load_squad
from latentstack.data.squad_sft import squad_sft_examples
from latentstack.errors import InputError

from ..conftest_helpers import write_squad


def test_halves_split_by_article(tmp_path: Path) -> None:
    squad = load_squad(write_squad(tmp_path))
    tune, held = squad.sample(None, 0, "tune"), squad.sample(None, 0, "heldout")
    assert {q.article for q in tune} & {q.article for q in held} == set()
    assert len(tune) + len(held) == len(squad.questions) == 36
    with pytest.raises(InputError, match="half must be"):
        squad.sample(None, 0, "train")


def test_sft_examples_come_from_one_half_and_cite_the_gold_passage(tmp_path: Path) -> None:
    squad = load_squad(write_squad(tmp_path))
    examples = squad_sft_examples(squad, half="tune", limit=100, distractor_share=1.0, max_per_paragraph=2,
                                  answer="first")
    assert len(examples) == 3 * 2 * 2  # three tune articles, two paragraphs each, two questions per paragraph
    held_texts = {p.text for p in squad.paragraphs if p.article % 2 == 1}
    for messages in examples:
        prompt = messages[-2]["content"]  # the user turn: numbered passages and the question
        assert not any(t in prompt for t in held_texts)
        reply = messages[-1]["content"]
        answer, cite = reply.rsplit(" ", 1)
        gold_mill = answer.split()[-1]
        assert answer.startswith("the old mill of")  # the first gold answer, as asked
        number = int(cite.strip("[]"))
        assert f"[{number}]" in prompt
        passage = prompt.split(f"[{number}]", 1)[1]
        assert gold_mill in passage.split("[", 1)[0]  # the cited passage holds the answer


def test_shortest_answer_by_default_and_bad_file(tmp_path: Path) -> None:
    squad = load_squad(write_squad(tmp_path))
    short = squad_sft_examples(squad, half="tune", limit=3)  # the default
    assert all(m[-1]["content"].startswith("Brent") for m in short)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not a SQuAD"):
        load_squad(bad)
