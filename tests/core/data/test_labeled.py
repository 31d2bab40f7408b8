"""Labeled data files: TSV, CSV, JSONL, and every way they can be wrong."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from latentstack.data.labeled import check_labels, load_labeled, normalize_labels
from latentstack.errors import InputError

from ...conftest import ROOT


def test_sms_tsv() -> None:
    """The vendored SMS file reads into its fixed splits."""
    splits = load_labeled(ROOT / "benchmarks" / "data" / "sms-spam.tsv")
    assert len(splits["train"]) == 3814 and len(splits["test"]) == 985
    assert splits["test"].labels.count("spam") == 134


def test_csv_jsonl_and_custom_columns(tmp_path) -> None:  # noqa: ANN001
    """CSV with quoted commas, JSONL, and other column names via arguments."""
    (tmp_path / "d.csv").write_text('split,y,body\ntrain,a,"hello, world"\ntest,b,bye\n')
    splits = load_labeled(tmp_path / "d.csv", text_col="body", label_col="y")
    assert splits["train"].texts == ["hello, world"] and splits["test"].labels == ["b"]
    (tmp_path / "d.jsonl").write_text('{"label": "x", "text": "one"}\n{"label": "y", "text": "two"}\n')
    assert load_labeled(tmp_path / "d.jsonl")["train"].labels == ["x", "y"]


def test_missing_column_names_the_option(tmp_path) -> None:  # noqa: ANN001
    """A file without the text column says which columns exist and which option to use."""
    (tmp_path / "d.tsv").write_text("split\tlabel\tmessage\ntrain\ta\thi\n")
    with pytest.raises(InputError, match="no column 'text'.*message.*--text-col"):
        load_labeled(tmp_path / "d.tsv")


def test_non_utf8_and_empty(tmp_path) -> None:  # noqa: ANN001
    """Latin-1 bytes and an empty file are clear errors."""
    (tmp_path / "l.tsv").write_bytes("label\ttext\na\tcaf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        load_labeled(tmp_path / "l.tsv")
    (tmp_path / "e.tsv").write_text("label\ttext\n")
    with pytest.raises(InputError, match="no data rows"):
        load_labeled(tmp_path / "e.tsv")


def test_one_class_is_refused() -> None:
    """A label column with one class cannot train a classifier."""
    with pytest.raises(InputError, match="1 class.*at least two"):
        check_labels(["spam", "spam"])


def test_labels_given_as_one_str_are_refused() -> None:
    """fit(["a b", "c d"], "ab") trained on the labels "a" and "b"; a str is not a list of labels."""
    from latentstack import get_classifier

    with pytest.raises(InputError, match="labels must be a list, one per text, got str"):
        normalize_labels("spam")
    with pytest.raises(InputError, match="labels must be a list"):
        get_classifier("linear", embedder="tfidf").fit(["win a prize", "lunch at noon"], "sh")


def test_line_separators_inside_a_text_stay_in_it(tmp_path) -> None:  # noqa: ANN001
    """U+2028 and a form feed inside a text are not line ends: JSONL written without ASCII escapes and TSV read whole."""
    texts = ["one\u2028two", "three", "page\x0cbreak", "four\x85five"]
    rows = [{"label": label, "text": t} for label, t in zip("abab", texts, strict=True)]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert load_labeled(tmp_path / "d.jsonl")["train"].texts == texts
    (tmp_path / "d.tsv").write_text("label\ttext\r\n" + "".join(f"{r['label']}\t{r['text']}\r\n" for r in rows), encoding="utf-8")
    assert load_labeled(tmp_path / "d.tsv")["train"].texts == texts


def test_csv_quoted_field_keeps_its_line_end(tmp_path) -> None:  # noqa: ANN001
    """A quoted CSV field over two lines keeps the line end between them (it was joined without one)."""
    (tmp_path / "d.csv").write_text('label,text\na,"line one\nline two"\nb,x\n', encoding="utf-8")
    assert load_labeled(tmp_path / "d.csv")["train"].texts == ["line one\nline two", "x"]


@pytest.mark.parametrize(("body", "line"), [('a,ok\nb,"never closed\na,c\nb,d\n', 3), ('a,ok\nb,"bad"x\na,c\n', 3)])
def test_broken_csv_quote_names_its_line_and_loses_no_rows(tmp_path, body: str, line: int) -> None:  # noqa: ANN001
    """An unclosed quote swallowed every later row into one text; now it is an error naming where the row starts."""
    (tmp_path / "d.csv").write_text("label,text\n" + body, encoding="utf-8")
    with pytest.raises(InputError, match=f"row from line {line} is not valid CSV.*written twice"):
        load_labeled(tmp_path / "d.csv")


def _sms_rows() -> list[str]:
    """The vendored SMS rows as label<TAB>text, without their split column."""
    return [line.split("\t", 1)[1] for line in (ROOT / "benchmarks" / "data" / "sms-spam.tsv").read_text().splitlines()[1:]]


def test_a_table_without_a_header_line_is_read_with_its_columns_named(tmp_path) -> None:  # noqa: ANN001
    """The UCI SMS Spam Collection's own form (label<TAB>text, no header): its first line is data, not column names."""
    uci = tmp_path / "SMSSpamCollection"
    uci.write_text("\n".join(_sms_rows()[:50]) + "\n")
    with pytest.raises(InputError, match="--columns"):  # the header it guessed is a message: say how to name them
        load_labeled(uci)
    part = load_labeled(uci, columns=("label", "text"))["train"]
    assert len(part) == 50 and part.texts[0] == _sms_rows()[0].split("\t", 1)[1]
    (tmp_path / "h.tsv").write_text("label\ttext\n" + "\n".join(_sms_rows()[:5]) + "\n")
    with pytest.raises(InputError, match="first line is a header"):  # it would be a row of class 'label'
        load_labeled(tmp_path / "h.tsv", columns=("label", "text"))
    (tmp_path / "d.jsonl").write_text('{"label": "x", "text": "one"}\n')
    with pytest.raises(InputError, match="JSONL"):
        load_labeled(tmp_path / "d.jsonl", columns=("label", "text"))


def test_holdout_draws_a_stratified_seeded_test_split_from_a_file_without_one(tmp_path) -> None:  # noqa: ANN001
    """Each class held out in the share asked, the same rows for the same seed, train and test together the file."""
    rows = _sms_rows()
    data = tmp_path / "sms.tsv"
    data.write_text("label\ttext\n" + "\n".join(rows) + "\n")
    splits = load_labeled(data, holdout=0.2, seed=0)
    train, test = splits["train"], splits["test"]
    assert sorted(zip(train.labels + test.labels, train.texts + test.texts, strict=True)) == \
        sorted(tuple(r.split("\t", 1)) for r in rows)
    for label in ("ham", "spam"):
        total = sum(r.startswith(label + "\t") for r in rows)
        assert test.labels.count(label) == round(total * 0.2)
    remaining = iter(r.split("\t", 1)[1] for r in rows)
    assert all(text in remaining for text in test.texts)  # a subsequence of the file: its order kept
    assert load_labeled(data, holdout=0.2, seed=0)["test"].texts == test.texts
    assert load_labeled(data, holdout=0.2, seed=1)["test"].texts != test.texts
    with pytest.raises(InputError, match="has a 'split' column"):
        load_labeled(ROOT / "benchmarks" / "data" / "sms-spam.tsv", holdout=0.2)
    with pytest.raises(InputError, match="between 0 and 1"):
        load_labeled(data, holdout=1.5)
    (tmp_path / "two.tsv").write_text("label\ttext\nham\ta\nspam\tb\n")
    with pytest.raises(InputError, match="too few rows"):  # a class of one row is never held out
        load_labeled(tmp_path / "two.tsv", holdout=0.5)


def test_a_file_in_another_encoding_is_read_with_encoding(tmp_path) -> None:  # noqa: ANN001
    """Kaggle's spam.csv is latin1: refused as not UTF-8 with the option named, read with encoding="latin1"."""
    path = tmp_path / "spam.csv"
    path.write_bytes("v1,v2,,,\r\nspam,Win \xa3100 now,,,\r\nham,see you,,,\r\n".encode("latin1"))
    with pytest.raises(InputError, match="is not UTF-8 .*give --encoding latin1, or convert it"):
        load_labeled(path, text_col="v2", label_col="v1")
    part = load_labeled(path, text_col="v2", label_col="v1", encoding="latin1")["train"]
    assert part.texts == ["Win \xa3100 now", "see you"] and part.labels == ["spam", "ham"]
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        load_labeled(path, encoding="klingon")
    with pytest.raises(InputError, match=r"is not utf-8 \(byte 19 is b'\\xa3'\)"):
        load_labeled(path, encoding="utf-8")


def test_an_excel_csv_with_semicolons_is_read(tmp_path) -> None:  # noqa: ANN001
    """Excel writes CSV with ';' where the decimal mark is a comma (and a BOM): it was one column named 'label;text'."""
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufefflabel;text\r\nspam;\"Win now; call, quick\"\r\nham;see you\r\n".encode())
    part = load_labeled(path)["train"]
    assert part.labels == ["spam", "ham"] and part.texts == ["Win now; call, quick", "see you"]


def test_a_jsonl_label_list_makes_every_label_a_list_and_null_is_refused_naming_its_row(tmp_path) -> None:  # noqa: ANN001
    """A list of labels was read as one class named "['billing', 'refund']": a list now gives the text several labels
    (and every lone label becomes a list of one); a null label was the class "None"; numbers read as written."""
    path = tmp_path / "tickets.jsonl"
    rows = [{"text": "my card was charged twice", "label": 1}, {"text": "the app crashes", "label": 0},
            {"text": "refund please", "label": ["billing", " refund", "billing"]}, {"text": "hi", "label": []}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    part = load_labeled(path)["train"]
    assert part.multi_label and part.labels == [["1"], ["0"], ["billing", "refund"], []]
    for bad, said in (({"text": "x", "label": None}, "row 3 has no label"),
                      ({"text": "x", "label": ["a", None]}, r"row 3: its 'label' list holds null: each label is"),
                      ({"text": "x", "label": ["a", ""]}, r"row 3: its 'label' list holds \"\": each label is"),
                      ({"text": ["a", "b"], "label": 1}, "row 3: its 'text' is a JSON list, not text")):
        path.write_text("".join(json.dumps(r) + "\n" for r in [*rows[:2], bad]), encoding="utf-8")
        with pytest.raises(InputError, match=said):
            load_labeled(path)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]), encoding="utf-8")
    assert load_labeled(path)["train"].labels == ["1", "0"] and not load_labeled(path)["train"].multi_label


def test_label_sep_splits_each_cell_into_labels_and_holds_out_by_label(tmp_path) -> None:  # noqa: ANN001
    """--label-sep reads "billing|refund" as two labels (spaces and repeats dropped; an empty cell is no label),
    and --holdout draws the same rows for the same seed, each label in its share."""
    path = tmp_path / "tickets.csv"
    cells = ["billing|refund", "login", "billing | billing", "", "login|bug"] * 4
    path.write_text("text,tags\n" + "".join(f"ticket {i},{c}\n" for i, c in enumerate(cells)), encoding="utf-8")
    part = load_labeled(path, label_col="tags", label_sep="|")["train"]
    assert part.labels[:5] == [["billing", "refund"], ["login"], ["billing"], [], ["login", "bug"]]
    held = load_labeled(path, label_col="tags", label_sep="|", holdout=0.25, seed=1)
    assert held == load_labeled(path, label_col="tags", label_sep="|", holdout=0.25, seed=1)
    total, out = (Counter(label for labels in p.labels for label in labels) for p in (part, held["test"]))
    assert len(held["test"]) == 5 and all(abs(out[label] - n / 4) <= 1 for label, n in total.items())
    assert sorted(held["train"].texts + held["test"].texts) == sorted(part.texts)
    for sep in ("", " "):
        with pytest.raises(InputError, match="cannot split labels"):
            load_labeled(path, label_col="tags", label_sep=sep)


def test_a_list_of_labels_is_refused_by_a_classifier_of_one_label_per_text() -> None:
    """``normalize_labels`` (every single-label classifier's check) says which classifier learns several labels;
    ``normalize_label_sets`` keeps one type and sorts each text's labels."""
    from latentstack.data.labeled import normalize_label_sets, normalize_labels

    with pytest.raises(InputError, match=r"a label is a list \(several labels per text\): this classifier learns one "
                                         r"label per text; the linear and finetune classifiers learn several"):
        normalize_labels(["a", ["a", "b"]])
    assert normalize_label_sets([("b", "a", "b"), "c", set()]) == [["a", "b"], ["c"], []]
    with pytest.raises(InputError, match="labels mix text and numbers"):
        normalize_label_sets([["a", 1]])


def test_label_cols_read_a_zero_one_column_per_label(tmp_path) -> None:  # noqa: ANN001
    """Kaggle's toxic-comment form: a 0/1 column per label (true/false, yes/no, an empty cell as 0); a text's labels
    are the columns holding 1. Another value, a missing column, or --label-sep beside it: one line each."""
    path = tmp_path / "comments.csv"
    path.write_text("id,comment_text,toxic,obscene,insult\n1,you fool,1,0,1\n2,nice work,0,0,0\n"
                    "3,darn it,true,yes,\n4,idiot,1.0,0.0,TRUE\n", encoding="utf-8")
    part = load_labeled(path, text_col="comment_text", label_cols=("toxic", "obscene", "insult"))["train"]
    assert part.labels == [["toxic", "insult"], [], ["toxic", "obscene"], ["toxic", "insult"]]
    assert part.texts[0] == "you fool" and part.multi_label
    with pytest.raises(InputError, match=r"has no column 'threat' .*name it with --label-cols"):
        load_labeled(path, text_col="comment_text", label_cols=("toxic", "threat"))
    with pytest.raises(InputError, match="give one of the two"):
        load_labeled(path, text_col="comment_text", label_cols=("toxic",), label_sep="|")
    path.write_text("comment_text,toxic\nhm,maybe\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2: its 'toxic' is 'maybe'; a label's own column holds 1 or 0"):
        load_labeled(path, text_col="comment_text", label_cols=("toxic",))


def test_a_held_out_share_of_texts_whose_label_sets_are_all_different(tmp_path) -> None:  # noqa: ANN001
    """With many labels most texts' sets are their own: sets held by one text are drawn from together, so the
    share held out is the one asked for (a stratum of one row is never held out, so none were)."""
    path = tmp_path / "tags.jsonl"
    path.write_text("".join(json.dumps({"text": f"note {i}", "label": [f"t{i}", f"t{i + 1}"]}) + "\n" for i in range(40)),
                    encoding="utf-8")
    held = load_labeled(path, holdout=0.25, seed=0)
    assert (len(held["train"]), len(held["test"])) == (30, 10)
