"""`latentstack classify train/predict/eval` on the vendored SMS data, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import ROOT, run_cli, run_cli_session

SMS = str(ROOT / "benchmarks" / "data" / "sms-spam.tsv")
LOUD = {"LATENTSTACK_QUIET": ""}  # status lines on, whatever the environment says


def test_train_predict_eval_tfidf(tmp_path) -> None:  # noqa: ANN001
    """Naive Bayes on TF-IDF trains, says what cross-validation chose, labels obvious spam and ham, and scores well
    on the test split."""
    out = tmp_path / "clf"
    trained = run_cli("classify", "train", "--data", SMS, "--embedder", "tfidf", "--head", "nb", "--out", str(out),
                      env=LOUD, check=True)
    chosen = next(line for line in trained.stderr.splitlines() if line.strip().startswith("chosen:"))
    saved = json.loads((out / "manifest.json").read_text())["data"]["chosen"]
    assert json.loads(chosen.split(":", 1)[1]) == saved  # the choice shown is the one saved
    pred = run_cli("classify", "predict", str(out), "WINNER!! You have won a free prize, call now to claim",
                   "are we still meeting for lunch?", "--json", check=True)
    rows = [json.loads(line) for line in pred.stdout.splitlines()]
    assert [r["label"] for r in rows] == ["spam", "ham"]
    assert abs(sum(rows[0]["proba"].values()) - 1.0) < 1e-3

    piped = run_cli("classify", "predict", str(out), "--from", "-", "--json", check=True,
                    stdin="\n".join(r["text"] for r in rows) + "\n")  # --from - reads standard input (it was "'-' does not exist")
    assert piped.stdout == pred.stdout
    table = tmp_path / "new.csv"  # a table's text column, its other fields kept ("id,text" was labeled as a text)
    table.write_text("id,text\n" + "".join(f'{i},"{r["text"]}"\n' for i, r in enumerate(rows)), encoding="utf-8")
    tabled = [json.loads(line) for line in
              run_cli("classify", "predict", str(out), "--from", str(table), "--json", check=True).stdout.splitlines()]
    assert [(r["label"], r["fields"]) for r in tabled] == [("spam", {"id": "0"}), ("ham", {"id": "1"})]
    latin = tmp_path / "latin.csv"  # the same table written by a latin1 tool: read with --encoding
    latin.write_bytes(("id,text\n" + "".join(f'{i},"{r["text"]} café"\n' for i, r in enumerate(rows))).encode("latin1"))
    refused = run_cli("classify", "predict", str(out), "--from", str(latin))
    assert refused.returncode == 1 and "give --encoding latin1" in refused.stderr
    decoded = [json.loads(line) for line in run_cli("classify", "predict", str(out), "--from", str(latin), "--encoding",
                                                    "latin1", "--json", check=True).stdout.splitlines()]
    assert [r["text"] for r in decoded] == [f"{r['text']} café" for r in rows]
    written = run_cli("-q", "classify", "predict", str(out), "--from", str(table), "--out", str(tmp_path / "l.csv"))
    assert written.returncode == 0 and written.stdout.startswith("wrote 2 prediction(s)")  # the table comes back labeled
    import csv

    with open(tmp_path / "l.csv", encoding="utf-8", newline="") as fh:
        labeled = list(csv.DictReader(fh))
    assert [(r["id"], r["text"], r["predicted"]) for r in labeled] == [("0", rows[0]["text"], "spam"),
                                                                      ("1", rows[1]["text"], "ham")]
    assert float(labeled[0]["probability"]) == rows[0]["proba"]["spam"]
    for target, error in ((table, "is the command's own input"), (tmp_path / "l.txt", "written as .csv or .jsonl")):
        refused = run_cli("-q", "classify", "predict", str(out), "--from", str(table), "--out", str(target))
        assert refused.returncode == 1 and error in refused.stderr
    assert table.read_text(encoding="utf-8").startswith("id,text\n")  # the input left as it was
    metrics = json.loads(run_cli("classify", "eval", str(out), "--data", SMS, check=True).stdout)
    assert metrics["accuracy"] > 0.95 and metrics["f1_positive"] > 0.85


def test_a_hybrid_shows_the_fusion_it_kept_and_quiet_shows_nothing(tmp_path) -> None:  # noqa: ANN001
    """A hybrid's training prints the fusion kept and every candidate's cross-validated score; -q prints only the
    result line; --fusion fixes the fusion."""
    data = tmp_path / "small.tsv"
    rows = (ROOT / "benchmarks" / "data" / "sms-spam.tsv").read_text().splitlines()[1:401]
    data.write_text("split\tlabel\ttext\n" + "\n".join(rows) + "\n")
    base = ["classify", "train", "--data", str(data), "--embedder", "lsa", "--hybrid"]
    auto, fixed, quiet = run_cli_session([  # -q last: it holds for the rest of the process
        [*base, "--out", str(tmp_path / "a")],
        [*base, "--fusion", "concat", "--out", str(tmp_path / "c")],
        ["-q", *base, "--out", str(tmp_path / "q")],
    ], env=LOUD)
    assert auto.returncode == 0, auto.stderr[-2000:]
    shown = {line.split(":", 1)[0].strip(): line.split(":", 1)[1] for line in auto.stderr.splitlines() if ": " in line}
    kept = json.loads((tmp_path / "a" / "manifest.json").read_text())["data"]["fusion"]
    assert json.loads(shown["fusion"]) == kept and {"stack", "concat"} <= set(json.loads(shown["fusion_scores"]))
    assert quiet.returncode == 0 and quiet.stderr.strip() == "" and "trained linear" in quiet.stdout
    assert fixed.returncode == 0 and '"concat"' in fixed.stderr.split("fusion:")[1].splitlines()[0]


def test_classify_errors(tmp_path) -> None:  # noqa: ANN001
    """One class, a missing column, unseen labels, and a folder that is no classifier: one-line errors."""
    one = tmp_path / "one.tsv"
    one.write_text("split\tlabel\ttext\ntrain\tham\thello\ntrain\tham\tbye\n")
    nocol = tmp_path / "nocol.tsv"
    nocol.write_text("split\tlabel\tmessage\ntrain\tham\thello\n")
    other = tmp_path / "other.tsv"
    other.write_text("split\tlabel\ttext\ntest\tphishing\tverify your bank account\ntest\tham\thi\n")
    utf16 = tmp_path / "texts.txt"
    utf16.write_bytes("free prize\nsee you soon\n".encode("utf-16"))
    out = str(tmp_path / "clf")
    single, no_column, trained, unseen, not_clf, no_texts, wide, lone_option = run_cli_session([
        ["classify", "train", "--data", str(one), "--embedder", "tfidf", "--out", str(tmp_path / "x")],
        ["classify", "train", "--data", str(nocol), "--out", str(tmp_path / "y")],
        ["-q", "classify", "train", "--data", SMS, "--embedder", "tfidf", "--out", out],
        ["classify", "eval", out, "--data", str(other)],
        ["classify", "predict", str(tmp_path), "hello"],
        ["classify", "predict", out],
        ["classify", "predict", out, "--from", str(utf16)],
        ["classify", "predict", out, "hello", "--embedder-option", "max_length=3"],  # was ignored
    ])
    assert single.returncode != 0 and "at least two" in single.stderr and "Traceback" not in single.stderr
    assert no_column.returncode != 0 and "--text-col" in no_column.stderr
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert unseen.returncode != 0 and "not seen in training" in unseen.stderr
    assert not_clf.returncode != 0 and "not a saved classifier" in not_clf.stderr
    assert no_texts.returncode != 0 and "no texts" in no_texts.stderr
    assert wide.returncode == 1 and "UTF-16 byte order mark" in wide.stderr and "iconv -f utf-16" in wide.stderr
    assert "Traceback" not in wide.stderr
    assert lone_option.returncode == 2 and "--embedder-option applies to an --embedder or --onnx" in lone_option.stderr


def test_texts_longer_than_the_classifier_reads_are_counted(tmp_path, tiny_bert_dir) -> None:  # noqa: ANN001
    """train, predict and eval say how many texts the classifier cut (its embedder's window, or finetune's
    max_length); with none cut they say nothing."""
    data = tmp_path / "d.tsv"
    rows = [("ham", f"see you at lunch today or at the usual place {i}") for i in range(6)] + [("spam", f"win {i}") for i in range(6)]
    data.write_text("split\tlabel\ttext\n" + "".join(f"train\t{lab}\t{t}\n" for lab, t in rows))
    base = ["classify", "train", "--data", str(data), "--model", str(tiny_bert_dir)]
    linear, predicted, evaluated, tuned, whole = run_cli_session([
        [*base, "-o", 'embedder_options={"max_length": 8}', "--out", str(tmp_path / "c")],
        ["classify", "predict", str(tmp_path / "c"), "win", "see you at lunch today or at the usual place"],
        ["classify", "eval", str(tmp_path / "c"), "--data", str(data), "--split", "train"],
        [*base, "--method", "finetune", "-o", "max_length=8", "--epochs", "1", "--out", str(tmp_path / "f")],
        [*base, "--out", str(tmp_path / "w")],
    ], env=LOUD)
    assert "6 of 12 training texts are longer than the classifier reads" in linear.stderr
    assert "1 of 2 texts are longer" in predicted.stderr and "6 of 12 texts are longer" in evaluated.stderr
    assert "6 of 12 training texts are longer" in tuned.stderr
    assert whole.returncode == 0 and "longer than" not in whole.stderr


def test_finetune_pooling_option(tmp_path, tiny_bert_dir) -> None:  # noqa: ANN001
    """`--method finetune` takes `--pooling`; without it lora uses the mean head (saved beside the adapter)."""
    data = tmp_path / "d.tsv"
    rows = [("ham", f"see you at lunch {i}") for i in range(6)] + [("spam", f"win a free prize now {i}") for i in range(6)]
    data.write_text("split\tlabel\ttext\n" + "".join(f"train\t{lab}\t{t}\n" for lab, t in rows))
    base = ["-q", "classify", "train", "--data", str(data), "--method", "finetune", "--model", str(tiny_bert_dir),
            "--epochs", "1"]
    run_cli(*base, "--out", str(tmp_path / "mean"), check=True)
    run_cli(*base, "--pooling", "cls", "--group-by-length", "--out", str(tmp_path / "cls"), check=True)
    assert (tmp_path / "mean" / "head.safetensors").exists() and not (tmp_path / "cls" / "head.safetensors").exists()
    config = json.loads((tmp_path / "cls" / "manifest.json").read_text())["config"]
    assert config["pooling"] == "cls" and config["group_by_length"] is True


def test_holdout_scores_the_rows_training_never_saw_and_eval_keeps_to_them(tmp_path) -> None:  # noqa: ANN001
    """A file without a split column (the UCI form: no header either) trains on all but --holdout's share, scores that
    share, and `classify eval` scores the same rows again; another share or seed, or none, is refused."""
    uci = tmp_path / "SMSSpamCollection"
    uci.write_text("\n".join(line.split("\t", 1)[1] for line in Path(SMS).read_text(encoding="utf-8").splitlines()[1:]) + "\n")
    out = str(tmp_path / "clf")
    data = ["--data", str(uci), "--columns", "label,text"]
    whole = str(tmp_path / "whole")
    trained, again, unsplit, reseeded, on_test, _, unkept = run_cli_session([
        ["classify", "train", *data, "--embedder", "tfidf", "--head", "nb", "--holdout", "0.2", "--out", out],
        ["classify", "eval", out, *data, "--holdout", "0.2"],
        ["classify", "eval", out, *data],
        ["classify", "eval", out, *data, "--holdout", "0.2", "--seed", "1"],
        ["classify", "train", *data, "--holdout", "0.2", "--split", "test", "--out", str(tmp_path / "t")],
        ["classify", "train", *data, "--embedder", "tfidf", "--head", "nb", "--out", whole],
        ["classify", "eval", whole, *data, "--holdout", "0.2"],
    ])
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "trained linear on 3839 texts" in trained.stdout  # 4,799 less a fifth of each class
    held = trained.stdout.split("held out ")[1]
    assert held.startswith("960 texts") and "--columns label,text" in held  # the command shown reads the file again
    accuracy = float(held.split("accuracy ")[1].split(",")[0])
    assert accuracy > 0.95
    assert again.returncode == 0 and round(json.loads(again.stdout)["accuracy"], 4) == accuracy
    assert unsplit.returncode != 0 and "--holdout 0.2 --seed 0" in unsplit.stderr
    assert reseeded.returncode != 0 and "mix rows it trained on" in reseeded.stderr
    assert on_test.returncode != 0 and "leave --split out" in on_test.stderr  # it would train on the held-out rows
    assert unkept.returncode == 0 and "keeps no split" in unkept.stderr  # trained on every row: the scores overstate
    assert "holdout.json" in json.loads((tmp_path / "clf" / "manifest.json").read_text())["files"]


def test_several_labels_per_text_train_predict_and_eval(tmp_path, tiny_bert_dir) -> None:  # noqa: ANN001
    """A JSONL file of label lists (or a CSV with --label-sep, or 0/1 columns) trains a multi-label classifier with the
    real MiniLM beside TF-IDF; predict gives each text its labels (none where none fits), eval scores label sets; an
    eval file read as one label per text is refused saying why; the finetune classifier learns label lists too."""
    from latentstack.testing.multilabel_contract import TICKETS

    jsonl, table = tmp_path / "tickets.jsonl", tmp_path / "tickets.csv"
    jsonl.write_text("".join(json.dumps({"text": t, "label": labels}) + "\n" for t, labels in TICKETS), encoding="utf-8")
    table.write_text("text,tags\n" + "".join(f'"{t}",{"|".join(labels)}\n' for t, labels in TICKETS), encoding="utf-8")
    flags = tmp_path / "flags.csv"  # a 0/1 column per label
    flags.write_text("text,account,billing,delivery\n" + "".join(
        f'"{t}",{",".join(str(int(c in labels)) for c in ("account", "billing", "delivery"))}\n' for t, labels in TICKETS))
    clf, tuned, out = str(tmp_path / "clf"), str(tmp_path / "tuned"), tmp_path / "labeled.csv"
    csv_data = ["--data", str(table), "--label-col", "tags", "--label-sep", "|"]
    asks = ["the courier lost my parcel and I was charged for it", "thanks, have a good day"]
    cols = ["--data", str(flags), "--label-cols", "account,billing,delivery", "--holdout", "0.25"]
    ft = str(tmp_path / "ft")
    trained, predicted, as_json, scored, tsv, written, single, tuned_ft, ft_json, by_cols, again = run_cli_session([
        ["classify", "train", "--data", str(jsonl), "--hybrid", "--out", clf],
        ["classify", "predict", clf, *asks],
        ["classify", "predict", clf, *asks, "--json"],
        ["classify", "eval", clf, *csv_data, "--split", "train"],
        ["-q", "classify", "train", *csv_data, "--embedder", "tfidf", "--tune-threshold", "--out", tuned],
        ["classify", "predict", tuned, "--from", str(table), "--out", str(out)],
        ["classify", "eval", clf, "--data", str(table), "--label-col", "tags", "--split", "train"],
        ["-q", "classify", "train", "--data", str(jsonl), "--method", "finetune", "--model", str(tiny_bert_dir),
         "--epochs", "2", "--out", ft],
        ["classify", "predict", ft, *asks, "--json"],
        ["classify", "train", *cols, "--embedder", "tfidf", "--out", str(tmp_path / "cols")],
        ["classify", "eval", str(tmp_path / "cols"), *cols],
    ], env=LOUD)
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert f"trained linear on {len(TICKETS)} texts (multi-label, account, billing, delivery)" in trained.stdout
    lines = predicted.stdout.splitlines()
    assert lines[0].startswith("billing,delivery\t") and lines[1].startswith("-\t")
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r["labels"] for r in rows] == [["billing", "delivery"], []] and "label" not in rows[0]
    assert sum(rows[0]["proba"].values()) > 1.2  # each label's own probability
    metrics = json.loads(scored.stdout)
    assert {"subset_accuracy", "micro_f1", "macro_f1", "samples_f1", "hamming_loss", "f1[billing]"} <= metrics.keys()
    assert metrics["micro_f1"] > 0.8 and metrics["hamming_loss"] < 0.1
    assert tsv.returncode == 0 and written.returncode == 0, tsv.stderr + written.stderr
    import csv

    cells = list(csv.DictReader(out.open(encoding="utf-8")))
    both = next(r for r in cells if r["tags"] == "billing|delivery")
    assert both["predicted"].split("|") and len(both["probability"].split("|")) == len(both["predicted"].split("|"))
    assert single.returncode != 0 and "learned several labels per text: give --label-sep or --label-cols as in training" in single.stderr
    assert "trained finetune on 20 texts (multi-label, account, billing, delivery)" in tuned_ft.stdout, tuned_ft.stderr
    assert all(isinstance(json.loads(line)["labels"], list) for line in ft_json.stdout.splitlines())
    assert by_cols.returncode == 0 and "(multi-label, account, billing, delivery)" in by_cols.stdout, by_cols.stderr
    held = by_cols.stdout.split("held out ")[1]
    assert "--label-cols account,billing,delivery" in held  # the command shown reads the file the same way
    assert round(json.loads(again.stdout)["micro_f1"], 4) == float(held.split("micro-F1 ")[1].split(",")[0])
