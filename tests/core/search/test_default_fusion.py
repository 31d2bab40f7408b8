"""With no flags, search and ask return the fused ranking, on a small news-like set where BM25 and dense disagree.

The question names what the right article says in other words ("cut road repairs" for
"moving money from road repairs"); MiniLM alone ranks the flooding article first, while
the fused ranking, which BM25's exact "councillor" and "repairs" pull up, ranks the
council article first.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from latentstack.search import Collection, Document

from ...conftest import run_cli_session

pytestmark = pytest.mark.slow

NEWS = {
    "council": "The Brackley town council approved the 2026 budget on Tuesday after councillor Ewa Kowalczyk "
               "proposed moving money from road repairs to the library.",
    "budgets": "Local governments everywhere debate their annual budgets, weighing what to spend on roads, schools, "
               "libraries and parks.",
    "football": "Brackley Town football club won the regional cup final on Saturday in front of a record crowd.",
    "flood": "Heavy rain flooded several roads in the county overnight, and the repairs are expected to take weeks.",
    "library": "The new library opened its doors with a reading hour for children and a small exhibition on the "
               "town's history.",
}
QUESTION = "Which councillor wanted to cut road repairs?"


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The five articles indexed with MiniLM, BM25 beside it (the defaults)."""
    folder = tmp_path_factory.mktemp("news") / "idx"
    col = Collection.create(folder, embedder_options={"model": "minilm", "show_progress": False})
    col.add_documents([Document(k, v) for k, v in NEWS.items()])
    col.save()
    return folder


def test_python_default_is_the_fused_ranking(news: Path) -> None:
    """Collection.search with no flags equals hybrid=True, and here differs from dense alone."""
    col = Collection.load(news)
    default = [h.doc_id for h in col.search(QUESTION, k=3)]
    assert default == [h.doc_id for h in col.search(QUESTION, k=3, hybrid=True)]
    assert default[0] == "council" and col.search(QUESTION, k=1, hybrid=False)[0].doc_id == "flood"


def test_cli_search_and_ask_default_to_fusion(news: Path, tiny_llama_dir: Path) -> None:
    """`search` and `ask` with no flags retrieve the council article first; --dense-only the flood one."""
    runs = run_cli_session([
        ["-q", "search", str(news), QUESTION, "-k", "1", "--json"],
        ["-q", "search", str(news), QUESTION, "-k", "1", "--dense-only", "--json"],
        ["-q", "ask", str(news), QUESTION, "--model", str(tiny_llama_dir), "-k", "1", "--min-score", "-1",
         "--no-server", "--json"],
        ["ask", str(news), QUESTION, "--model", str(tiny_llama_dir), "-k", "1", "--min-score", "-1",
         "--no-server", "--json", "--dense-only"],  # the lexical index not even read
    ])
    assert all(r.returncode == 0 for r in runs), [r.stderr[-1000:] for r in runs]
    fused, dense, asked, asked_dense = (json.loads(r.stdout) for r in runs)
    assert fused["hits"][0]["doc_id"] == "council" and dense["hits"][0]["doc_id"] == "flood"
    assert asked["passages"][0]["doc_id"] == "council" and asked_dense["passages"][0]["doc_id"] == "flood"
    assert "dense only" not in runs[3].stderr
