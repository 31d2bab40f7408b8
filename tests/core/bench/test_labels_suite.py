"""bench labels: the same stratified draws for every method, one row per method and size, the output contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from latentstack_bench.fewshot import ALL, draws, parse_sizes, reaches, summarize

from ...conftest import run_cli
from .test_classify_suite import write_fixture


def test_draws_are_stratified_nested_and_seeded() -> None:
    """Each draw takes the size from every class; a larger size extends a smaller; the seed decides."""
    labels = ["a"] * 30 + ["b"] * 12 + ["c"] * 3
    small, large = draws(labels, 4, 3, seed=7), draws(labels, 8, 3, seed=7)
    for s, big in zip(small, large, strict=True):
        assert sorted(labels[i] for i in s) == ["a"] * 4 + ["b"] * 4 + ["c"] * 3  # c has only three
        assert set(s) <= set(big)
    assert [d.tolist() for d in small] == [d.tolist() for d in draws(labels, 4, 3, seed=7)]
    assert small[0].tolist() != small[1].tolist()
    assert [d.tolist() for d in draws(labels, ALL, 3, seed=7)] == [list(range(45))]


def test_setfit_trains_one_epoch_of_its_pairs_at_most_the_cap() -> None:
    """Two pairs per text and iteration, 16 a step, the cap only when an epoch is longer (its trainer would loop)."""
    from latentstack_bench.peers import setfit_steps

    assert [setfit_steps(n, 500) for n in (16, 32, 33, 64)] == [40, 80, 83, 160]
    assert setfit_steps(3814, 500) == 500
    assert setfit_steps(1, 500) == 3 and setfit_steps(64, 1) == 1


def test_sizes_and_summaries() -> None:
    """Sizes parse with 'all' last; bad parts are named; means, spreads and the 95% size are right."""
    assert parse_sizes("16, 8,all,8") == [8, 16, ALL]
    with pytest.raises(ValueError, match="'-3'"):
        parse_sizes("8,-3")
    s = summarize([{"macro_f1": 0.5}, {"macro_f1": 0.7}])
    assert s["macro_f1"] == 0.6 and s["macro_f1_sd"] == pytest.approx(np.std([0.5, 0.7], ddof=1), abs=1e-4)
    assert reaches({8: 0.5, 16: 0.86, 32: 0.95, ALL: 0.9}) == 16
    assert reaches({8: 0.5}) is None


def test_curves_on_a_fixture(tmp_path) -> None:  # noqa: ANN001
    """tfidf and lsa at 2, 4 and all labels per class: rows, means and spreads, the 95% sizes, a chart."""
    data = tmp_path / "topics.tsv"
    write_fixture(data)
    out = run_cli("-q", "bench", "labels", "--data", str(data), "--methods", "tfidf,lsa", "--sizes", "2,4,all",
                  "--repeats", "3", "--json", "--out", str(tmp_path), check=True)
    obj = json.loads(out.stdout)
    rows = [(r["method"], r["params"]["labels_per_class"], r["params"]["draws"]) for r in obj["results"]]
    assert rows == [("tfidf", 2, 3), ("tfidf", 4, 3), ("tfidf", "all", 1), ("lsa", 2, 3), ("lsa", 4, 3), ("lsa", "all", 1)]
    by = {(r["method"], r["params"]["labels_per_class"]): r["metrics"] for r in obj["results"]}
    assert by[("tfidf", "all")]["macro_f1"] >= 0.8 and by[("tfidf", "all")]["macro_f1_sd"] == 0.0
    assert by[("tfidf", 2)]["macro_f1"] < by[("tfidf", "all")]["macro_f1"]
    assert by[("tfidf", 2)]["macro_f1_sd"] > 0
    assert set(obj["params"]["reaches_95_percent_of_all"]) == {"tfidf", "lsa"}
    assert (tmp_path / "labels.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_options(tmp_path) -> None:  # noqa: ANN001
    """An unknown method or a bad size is a usage error naming it; nothing is written."""
    data = tmp_path / "topics.tsv"
    write_fixture(data)
    bad = run_cli("bench", "labels", "--data", str(data), "--methods", "tfidf,nope", "--out", str(tmp_path / "o"))
    assert bad.returncode == 2 and "nope" in bad.stderr
    bad = run_cli("bench", "labels", "--data", str(data), "--methods", "tfidf", "--sizes", "8,x", "--out", str(tmp_path / "o"))
    assert bad.returncode == 2 and "'x'" in bad.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_encoder_training_rows(tmp_path) -> None:  # noqa: ANN001
    """finetune-lora and SetFit (the real package, the packaged MiniLM) train on each draw, only up to --costly-up-to
    and on all labels where --costly-all names them; the random-head ablation runs only when named, with
    finetune-lora's sizes, and is not among the default methods."""
    data = tmp_path / "topics.tsv"
    write_fixture(data)
    out = run_cli("-q", "bench", "labels", "--data", str(data), "--methods",
                  "setfit,finetune-lora,finetune-lora-random-head", "--sizes", "2,4,all", "--repeats", "1",
                  "--costly-up-to", "2", "--costly-all", "setfit", "--setfit-max-steps", "4", "--json",
                  "--out", str(tmp_path), check=True)
    results = json.loads(out.stdout)["results"]
    rows = [(r["method"], r["params"]["labels_per_class"]) for r in results]
    assert rows == [("setfit", 2), ("setfit", "all"), ("finetune-lora", 2), ("finetune-lora-random-head", 2)]
    assert "finetune-lora-random-head" not in run_cli("bench", "labels", "--help", check=True).stdout
    bad = run_cli("bench", "labels", "--data", str(data), "--methods", "setfit", "--costly-all", "svm",
                  "--out", str(tmp_path / "o"))
    assert bad.returncode == 2 and "svm" in bad.stderr


def test_partial_results_resume(tmp_path) -> None:  # noqa: ANN001
    """--partial keeps each finished method; a rerun with the same settings takes its rows, other settings do not."""
    data, keep = tmp_path / "topics.tsv", tmp_path / "keep.json"
    write_fixture(data)
    args = ["-q", "bench", "labels", "--data", str(data), "--sizes", "2,all", "--json", "--out", str(tmp_path),
            "--partial", str(keep)]
    run_cli(*args, "--methods", "tfidf", "--repeats", "2", check=True)
    saved = json.loads(keep.read_text())
    assert list(saved["methods"]) == ["tfidf"]
    saved["methods"]["tfidf"][0]["metrics"]["macro_f1"] = 0.123  # a mark only a reused row carries
    keep.write_text(json.dumps(saved))
    out = run_cli(*args, "--methods", "tfidf,lsa", "--repeats", "2", check=True)
    rows = json.loads(out.stdout)["results"]
    assert [r["method"] for r in rows] == ["tfidf", "tfidf", "lsa", "lsa"] and rows[0]["metrics"]["macro_f1"] == 0.123
    assert list(json.loads(keep.read_text())["methods"]) == ["tfidf", "lsa"]
    other = run_cli(*args, "--methods", "tfidf", "--repeats", "3", check=True)
    assert json.loads(other.stdout)["results"][0]["metrics"]["macro_f1"] != 0.123
    keep.write_text('{"settings": ')
    bad = run_cli(*args, "--methods", "tfidf", "--repeats", "3")
    assert bad.returncode == 1 and "delete it" in bad.stderr and "Traceback" not in bad.stderr
