"""benchmarks/paired_gain.py: the confirmation script's gain on a slice of a bench rag answers file."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from latentstack.bench.stats import paired_bootstrap

SCRIPT = Path(__file__).parents[3] / "benchmarks" / "paired_gain.py"


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("paired_gain", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def answers(tmp_path: Path) -> Path:
    rows = []
    for method, shift in (("rag+sft", 0.0), ("rag+dpo", 0.5)):
        for i in range(10):
            f1 = min(1.0, (i % 3) / 3 + (shift if i >= 4 else 0.0))
            rows.append({"method": method, "question_id": f"q{9 - i}", "f1": f1, "exact_match": float(f1 == 1.0),
                         "cites_gold": 1.0, "answer_words": 2.0})
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_gain_leaves_out_the_first_questions_and_matches_bench_rags_bootstrap(tmp_path: Path) -> None:
    gain = script()
    rows = gain.load(answers(tmp_path))
    got = gain.gains(rows, "rag+sft", "rag+dpo", skip=4)
    assert got["questions"] == 6
    ids = sorted(f"q{9 - i}" for i in range(4, 10))  # file order, then sorted as bench rag sorts them
    mean, lo, hi = paired_bootstrap([rows["rag+dpo"][i]["f1"] for i in ids], [rows["rag+sft"][i]["f1"] for i in ids])
    assert got["f1"]["gain"] == round(mean, 4) > 0 and (got["f1"]["lo"], got["f1"]["hi"]) == (round(lo, 4), round(hi, 4))
    assert gain.gains(rows, "rag+sft", "rag+dpo", skip=0)["f1"]["gain"] < got["f1"]["gain"]  # the first four tie
    assert got["cites_gold"]["gain"] == 0.0


def test_an_unknown_method_names_the_ones_there_are(tmp_path: Path) -> None:
    gain = script()
    with pytest.raises(SystemExit, match="no method 'rag\\+ipo'.*rag\\+sft, rag\\+dpo"):
        gain.gains(gain.load(answers(tmp_path)), "rag+sft", "rag+ipo", skip=0)
