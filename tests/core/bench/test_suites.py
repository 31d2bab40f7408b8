"""The retrieval and ann suites run end to end on small inputs and keep the output contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from latentstack_bench.ranking import ranking_metrics
from latentstack_faiss.bench_ann import clustered, exact_topk, recall_at

from ...conftest import run_cli


def test_ranking_metrics() -> None:
    """Recall@k and MRR@10 count the gold item's rank, and 0 when it is missing."""
    m = ranking_metrics([["a", "b"], ["x", "b"], ["y", "z"]], ["a", "b", "b"], recall_at=(1, 2))
    assert m == {"recall@1": pytest.approx(1 / 3), "recall@2": pytest.approx(2 / 3), "mrr@10": pytest.approx(0.5)}


def test_exact_topk_matches_argsort() -> None:
    """Blocked exact search equals a full argsort, and recall of the truth is 1."""
    base, q = clustered(3000, 16, 20, 0), clustered(20, 16, 20, 0, draw_seed=5)
    truth = np.argsort(-(q @ base.T), axis=1)[:, :10]
    found = exact_topk(base, q, 10, block=700)
    assert recall_at(found, truth) == 1.0


def test_ann_suite_small(tmp_path) -> None:  # noqa: ANN001
    """bench ann on 20k vectors prints one JSON object with a result per setting; IVF-Flat at full probe is exact."""
    out = run_cli("bench", "ann", "--n", "20000", "--dim", "32", "--queries", "50", "--single", "5",
                  "--methods", "exact,flat,ivf-flat", "--json", "--out", str(tmp_path), check=True)
    obj = json.loads(out.stdout)
    rows = {r["method"]: r for r in obj["results"]}
    assert rows["exact (numpy)"]["metrics"]["recall@10"] == 1.0
    assert rows["Flat"]["metrics"]["recall@10"] >= 0.999
    ivf = [r for m, r in rows.items() if m.startswith("IVF")]
    assert len(ivf) == 4 and max(r["metrics"]["recall@10"] for r in ivf) >= 0.9
    assert (tmp_path / "ann.md").exists() and (tmp_path / "ann.png").exists()


SQUAD = {"data": [{"title": "Volcano", "paragraphs": [
    {"context": "A volcano erupts when magma rises through the crust.", "qas": [
        {"id": "q1", "question": "What rises through the crust before an eruption?", "answers": [{"text": "magma", "answer_start": 17}]}]},
    {"context": "The Pacific Ring of Fire holds most active volcanoes.", "qas": [
        {"id": "q2", "question": "Where are most active volcanoes?", "answers": [{"text": "Ring of Fire", "answer_start": 12}]}]}]},
    {"title": "Bread", "paragraphs": [
    {"context": "Bread dough rises because yeast produces carbon dioxide.", "qas": [
        {"id": "q3", "question": "Why does dough rise?", "answers": [{"text": "yeast", "answer_start": 26}]}]}]}]}


@pytest.mark.slow
def test_retrieval_options_apply_where_they_say(tmp_path) -> None:  # noqa: ANN001
    """--stemmer reaches the hybrids' BM25 too (they kept the English stemmer), and an option no chosen method reads
    is a usage error (--pooling with bm25 alone was ignored)."""
    from latentstack.data.squad import load_squad
    from latentstack_bench.retrieval import Runner

    data = tmp_path / "tiny-squad.json"
    data.write_text(json.dumps(SQUAD))
    squad = load_squad(data)
    runner = Runner(squad, squad.sample(None, 0, "all"), "minilm", "mean", "")
    runner.tmp.rmdir()  # empty yet: the collections go under tmp_path instead
    runner.tmp = tmp_path / "cols"
    assert runner.collection("paragraph")[0].lexical.config.stemmer == ""
    out = run_cli("-q", "bench", "retrieval", "--data", str(data), "--methods", "bm25", "--pooling", "cls",
                  "--out", str(tmp_path))
    assert out.returncode == 2 and "--pooling applies to the dense and hybrid methods only" in out.stderr


def test_retrieval_suite_small(tmp_path) -> None:  # noqa: ANN001
    """bench retrieval on a three-paragraph SQuAD file: every method answers, metrics in [0, 1]; the collections it
    built are removed afterwards (each run left them in the temporary directory)."""
    data = tmp_path / "tiny-squad.json"
    data.write_text(json.dumps(SQUAD))
    (tmp_path / "scratch").mkdir()
    out = run_cli("-q", "bench", "retrieval", "--data", str(data), "--methods",
                  "bm25,tfidf,dense,hybrid,dense:article,dense:sentences,hybrid:capped", "--json", "--out", str(tmp_path),
                  check=True, env={"TMPDIR": str(tmp_path / "scratch")})
    obj = json.loads(out.stdout)
    assert obj["suite"] == "retrieval" and obj["n"] == 3
    rows = {r["method"]: r for r in obj["results"]}
    assert rows["hybrid"]["metrics"]["recall@5"] == 1.0
    assert rows["dense:article"]["metrics"]["article_recall@1"] >= 2 / 3
    assert "recall@5" not in rows["dense:article"]["metrics"]
    assert rows["hybrid:capped"]["metrics"]["recall@5"] == 1.0 and "article_recall@1" in rows["hybrid:capped"]["metrics"]
    assert all(0.0 <= v <= 1.0 for r in obj["results"] for v in r["metrics"].values())
    assert list((tmp_path / "scratch").glob("latentstack-*")) == []  # torch may keep its own caches there
