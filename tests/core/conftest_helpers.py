"""Small helpers shared by a few core tests."""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import run_cli


def never_called() -> tuple[float, float]:
    """A probe that must not run."""
    raise AssertionError("the probe ran although the CPU has no bf16 units")


def run_doctor() -> str:
    """`latentstack doctor`'s output."""
    return run_cli("doctor", check=True).stdout


def write_squad(tmp_path: Path, articles: int = 6) -> Path:
    """A small SQuAD v1.1 file: ``articles`` articles of two paragraphs, three questions each."""
    data = []
    for a in range(articles):
        paragraphs = []
        for p in range(2):
            context = f"Article {a} paragraph {p}: the river Tamar{a}{p} flows past the old mill of Brent{a}{p}."
            qas = [{"id": f"q{a}-{p}-{i}", "question": f"Which mill does river {i} pass in {a}/{p}?",
                    "answers": [{"text": f"the old mill of Brent{a}{p}", "answer_start": 0},
                                {"text": f"Brent{a}{p}", "answer_start": 0}]} for i in range(3)]
            paragraphs.append({"context": context, "qas": qas})
        data.append({"title": f"Article {a}", "paragraphs": paragraphs})
    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"version": "1.1", "data": data}))
    return path
