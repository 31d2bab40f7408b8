"""bench classify runs unchanged on a multi-class set and keeps the output contract."""

from __future__ import annotations

import json
import random

import pytest

from ...conftest import run_cli, run_cli_session

TOPICS = {
    "sport": ["goal", "match", "team", "cup", "coach", "goalkeeper", "fans", "marathon", "striker", "league", "referee", "season"],
    "cooking": ["sauce", "dough", "salt", "oven", "onions", "eggs", "sugar", "recipe", "simmer", "bake", "flour", "butter"],
    "tech": ["phone", "chip", "software", "bug", "laptop", "battery", "server", "upgrade", "app", "code", "compiler", "network"],
}
FILLER = ["the", "a", "today", "again", "we", "they", "said", "about", "really", "new", "old", "big", "small", "some"]


def write_fixture(path) -> None:  # noqa: ANN001
    """A three-class TSV of short texts mixing topic words and filler; 30 train and 10 test per class."""
    rng = random.Random(0)
    rows = ["split\tlabel\ttext"]
    for label, words in TOPICS.items():
        for i in range(40):
            text = " ".join(rng.sample(words, 3) + rng.sample(FILLER, 4))
            rows.append(f"{'test' if i % 4 == 3 else 'train'}\t{label}\t{text}")
    path.write_text("\n".join(rows) + "\n")


def test_multiclass_fixture(tmp_path) -> None:  # noqa: ANN001
    """The same command on three classes: one result per method, macro-F1 well above chance. The heads it saved
    to measure their bytes are gone afterwards (each run left a folder in the temporary directory)."""
    data = tmp_path / "topics.tsv"
    write_fixture(data)
    (tmp_path / "scratch").mkdir()
    out = run_cli("-q", "bench", "classify", "--data", str(data), "--methods", "tfidf+nb,tfidf+linear,lsa+linear",
                  "--json", "--out", str(tmp_path), check=True, env={"TMPDIR": str(tmp_path / "scratch")})
    obj = json.loads(out.stdout)
    assert obj["params"]["classes"] == ["cooking", "sport", "tech"]
    rows = {r["method"]: r for r in obj["results"]}
    assert set(rows) == {"tfidf+nb", "tfidf+linear", "lsa+linear"}
    assert rows["tfidf+linear"]["metrics"]["macro_f1"] >= 0.8
    assert {"f1[sport]", "f1_positive", "accuracy"} <= set(rows["tfidf+nb"]["metrics"])
    assert rows["tfidf+linear"]["timing"]["stored_bytes"] > 0
    timing = rows["lsa+linear"]["timing"]  # train seconds split: computing the features, fitting the heads
    slack = 0.015 + 1e-9  # each of the three is rounded to hundredths (0.02 + 0.10 against 0.11 failed at 0.01)
    assert 0 < timing["features_s"] + timing["heads_s"] <= timing["train_s"] + slack
    assert (tmp_path / "classify.png").read_bytes()[:4] == b"\x89PNG"
    assert list((tmp_path / "scratch").glob("latentstack-*")) == []  # torch may keep its own caches there


def test_the_cold_cache_of_a_run_is_the_users_cache_again_after_it(tmp_path) -> None:  # noqa: ANN001
    """bench classify points the embedding cache at its own folder so that times include embedding; in the
    same process afterwards (the Python API, a session) the cache stayed on that removed folder."""
    data = tmp_path / "topics.tsv"
    write_fixture(data)
    mine = tmp_path / "my-cache"
    bench, info = run_cli_session([["-q", "bench", "classify", "--data", str(data), "--methods", "tfidf+nb", "--out",
                                    str(tmp_path)], ["cache", "info"]], env={"LATENTSTACK_CACHE": str(mine)})
    assert bench.returncode == 0, bench.stderr
    assert str(mine) in info.stdout


@pytest.mark.slow
def test_multiclass_bert_methods(tmp_path) -> None:  # noqa: ANN001
    """The MiniLM and hybrid methods also run on the multi-class fixture."""
    data = tmp_path / "topics.tsv"
    write_fixture(data)
    out = run_cli("-q", "bench", "classify", "--data", str(data), "--methods",
                  "bert-mean+linear,bert-mean+linear:2nd-head,hybrid+linear", "--json", "--out", str(tmp_path),
                  check=True)
    rows = {r["method"]: r for r in json.loads(out.stdout)["results"]}
    assert rows["hybrid+linear"]["metrics"]["macro_f1"] >= 0.8
    chosen = rows["bert-mean+linear:2nd-head"]["extra"]["chosen"]
    assert [{k: c[k] for k in ("C", "class_weight")} for c in chosen] == [{"C": 10.0, "class_weight": "balanced"}]


SHIFTED = {  # train and test sentences of a class share no content words: only meaning carries over
    "weather": (["heavy rain soaked the streets", "a storm with strong winds hit the coast", "snow fell all night",
                 "thunder and lightning during the afternoon", "the forecast warns of hail", "fog covered the valley",
                 "a hurricane made landfall", "drizzle and grey clouds all week", "temperatures dropped below freezing",
                 "the monsoon flooded fields", "sunny skies and a warm breeze", "a blizzard closed roads"],
                ["it is pouring outside", "umbrellas needed, showers expected", "icy sleet this morning",
                 "meteorologists predict a heatwave"]),
    "finance": (["shares fell after the earnings report", "the central bank raised interest rates",
                 "investors sold bonds", "the stock market rallied", "inflation climbed to five percent",
                 "the company posted a quarterly loss", "dividends were cut", "the currency weakened against the dollar",
                 "a merger lifted the share price", "traders expect a recession", "the fund manager bought equities",
                 "mortgage costs went up"],
                ["Wall Street closed lower", "the firm's profits doubled", "cheaper borrowing announced by the Fed",
                 "portfolio returns disappointed"]),
    "health": (["the patient received a vaccine", "doctors treated the infection with antibiotics",
                "the nurse measured blood pressure", "a new drug lowers cholesterol", "surgery went well",
                "symptoms include fever and cough", "the hospital opened a clinic", "exercise improves the heart",
                "the virus spread quickly", "a diet rich in vegetables", "the child had the flu",
                "physicians recommend sleep"],
               ["the GP prescribed medicine", "recovering after an operation", "my throat hurts and I feel ill",
                "a checkup with the dentist"]),
}


def write_shifted(path) -> None:  # noqa: ANN001
    """Three classes whose test texts use other words than their training texts."""
    rows = ["split\tlabel\ttext"]
    for label, (train, test) in SHIFTED.items():
        rows += [f"train\t{label}\t{t}" for t in train] + [f"test\t{label}\t{t}" for t in test]
    path.write_text("\n".join(rows) + "\n")


@pytest.mark.slow
def test_hybrid_is_at_least_its_better_part_on_shifted_vocabulary(tmp_path) -> None:  # noqa: ANN001
    """When test texts share no words with training, TF-IDF is blind; the hybrid must follow the embedding."""
    data = tmp_path / "shifted.tsv"
    write_shifted(data)
    out = run_cli("-q", "bench", "classify", "--data", str(data), "--methods",
                  "tfidf+linear,bert-mean+linear,hybrid+linear", "--json", "--out", str(tmp_path), check=True)
    f1 = {r["method"]: r["metrics"]["macro_f1"] for r in json.loads(out.stdout)["results"]}
    assert f1["hybrid+linear"] >= max(f1["tfidf+linear"], f1["bert-mean+linear"]) - 1e-9, f1


def test_a_file_without_splits_or_header_is_benched_on_a_held_out_share(tmp_path) -> None:  # noqa: ANN001
    """bench classify read only split/label/text files: one without a header line (named by --columns) and without
    a split column (--holdout) was "no column 'text'" or "no split 'test'"; the held-out rows are the test set."""
    data = tmp_path / "topics.tsv"
    write_fixture(data)
    headless = tmp_path / "headless.tsv"
    headless.write_text("".join(line.split("\t", 1)[1] + "\n" for line in data.read_text().splitlines()[1:]))
    out = run_cli("-q", "bench", "classify", "--data", str(headless), "--columns", "label,text", "--holdout", "0.25",
                  "--methods", "tfidf+nb", "--json", "--out", str(tmp_path), check=True)
    obj = json.loads(out.stdout)
    assert (obj["params"]["train"], obj["params"]["test"], obj["params"]["holdout"]) == (90, 30, 0.25)
    assert obj["results"][0]["metrics"]["macro_f1"] >= 0.8


def test_a_file_of_label_lists_is_refused_by_the_suites(tmp_path) -> None:  # noqa: ANN001
    """The suites compare classifiers of one label per text: a file of label lists is one line before any training
    (its lists were otherwise scored as single labels)."""
    from latentstack.errors import InputError
    from latentstack_bench.classify import load_split

    path = tmp_path / "tickets.jsonl"
    path.write_text("".join(json.dumps({"split": s, "text": f"t{i}", "label": ["a", "b"][: i % 2 + 1]}) + "\n"
                            for i, s in enumerate(["train", "test"] * 4)), encoding="utf-8")
    with pytest.raises(InputError, match="gives texts several labels: the bench suites compare classifiers of one"):
        load_split(str(path), None, 0)
