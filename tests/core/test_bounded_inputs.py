"""Every input is bounded and type-checked: k, ids, chunk windows, options, labels, pickled model folders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from latentstack import get_classifier, get_embedder
from latentstack.errors import ConfigError, InputError, ModelNotInstalledError
from latentstack.search import Collection, Document
from latentstack.search.collection import MAX_K
from latentstack.sources import resolve_model

from ..conftest import run_cli, run_cli_session


@pytest.fixture
def col(tmp_path: Path, tiny_bert_dir: Path) -> Collection:
    """Five documents on the tiny BERT."""
    c = Collection.create(tmp_path / "i", embedder_options={"model": str(tiny_bert_dir), "show_progress": False})
    c.add_documents([Document(f"d{i}", f"document number {i} about topic {i}") for i in range(5)])
    return c


@pytest.mark.parametrize("k", [0, -1, MAX_K + 1, 10**9, 2.5, True, "3"])
@pytest.mark.parametrize("hybrid", [False, True])
def test_k_out_of_bounds_is_refused(col: Collection, k: object, hybrid: bool) -> None:
    """k must be a whole number from 1 to MAX_K, dense or hybrid; never an allocation of a billion rows."""
    with pytest.raises(InputError, match="k must be"):
        col.search("topic", k=k, hybrid=hybrid)  # type: ignore[arg-type]


def test_k_beyond_what_is_stored_returns_what_is_stored(col: Collection) -> None:
    """Asking for more hits than passages returns every passage once."""
    assert len(col.search("topic", k=MAX_K)) == 5 and len(col.search("topic", k=MAX_K, hybrid=True)) == 5


@pytest.mark.parametrize("hybrid", [False, True])
def test_a_filter_that_is_not_a_dict_is_refused(col: Collection, hybrid: bool) -> None:
    """where="lang" was read as the keys l, a, n, g ("unknown metadata key(s) 'a', 'g', ...")."""
    with pytest.raises(InputError, match="the filter is a str; give a dict"):
        col.search("topic", k=2, hybrid=hybrid, where="lang")  # type: ignore[arg-type]


@pytest.mark.parametrize(("hybrid", "fusion", "said"), [(False, "rrf", "with hybrid off there is one ranking"),
                                                         (True, "max", "'zscore' or 'rrf', got 'max'")])
def test_a_fusion_the_search_cannot_run_is_refused(col: Collection, hybrid: bool, fusion: str, said: str) -> None:
    """A fusion named for a dense-only search was ignored, and an unknown one raised a bare ValueError; the search's
    own check now refuses both for every caller (the CLI and /v1/search refused them on their own before)."""
    with pytest.raises(InputError, match=said):
        col.search("topic", k=2, hybrid=hybrid, fusion=fusion)


def test_documents_that_are_not_documents_are_refused(col: Collection) -> None:
    """A plain string among the documents is a one-line InputError (it was an AttributeError), and nothing is added."""
    with pytest.raises(InputError, match="must be Document objects or dicts with a 'text', got a str"):
        col.add_documents([Document("ok", "a fine text"), "just a string"])  # type: ignore[list-item]
    assert col.store.count_documents() == 5


def test_cli_bounds_k(tmp_path: Path, tiny_bert_dir: Path) -> None:
    """`search -k 1000000000` and `ask -k 0` are usage errors, not allocations."""
    docs = tmp_path / "d.jsonl"
    docs.write_text(json.dumps({"id": "a", "text": "alpha"}) + "\n")
    built, *bounded = run_cli_session([
        ["-q", "index", "build", str(tmp_path / "i"), "--from", str(docs), "--model", str(tiny_bert_dir)],
        ["-q", "search", str(tmp_path / "i"), "alpha", "-k", "1000000000"],
        ["-q", "ask", str(tmp_path / "i"), "x", "-k", "0"],
    ])
    assert built.returncode == 0, built.stderr
    for out in bounded:
        assert out.returncode == 2 and "-k" in out.stderr and "Traceback" not in out.stderr


def test_duplicate_ids_in_one_batch_keep_the_last(col: Collection) -> None:
    """The documented rule (same id = replaced) holds inside one batch too: the last one wins."""
    counts = col.add_documents([Document("dup", "the first text"), Document("dup", "the second text")])
    assert counts["documents"] == 1 and counts["repeated"] == 1
    chunks = col.store.chunks(col.store.chunk_ids(["dup"]))
    assert [c.text for c in chunks.values()] == ["the second text"]


@pytest.mark.parametrize("bad", [None, "", "  ", {"a": 1}, [1], True])
def test_a_missing_or_odd_id_is_never_the_string_none(bad: object) -> None:
    """A Document id must be a non-empty string or number."""
    with pytest.raises(InputError, match="document id"):
        Document(bad, "text")  # type: ignore[arg-type]


def test_a_null_id_in_jsonl_gets_a_generated_id(tmp_path: Path) -> None:
    """``"id": null`` is treated as a missing id: one is generated from the file and line, never "None"."""
    from latentstack.search.sources import read_documents

    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps({"id": None, "text": "a"}) + "\n" + json.dumps({"text": "b"}) + "\n")
    ids = [d.id for d in read_documents([f])]
    assert "None" not in ids and len(set(ids)) == 2


def test_a_jsonl_text_with_a_line_separator_is_one_document(tmp_path: Path) -> None:
    """JSON written without ASCII escapes may hold U+2028 raw inside a string: the record stays whole."""
    from latentstack.search.sources import read_documents

    f = tmp_path / "d.jsonl"
    f.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in ["a\u2028b", "c"]), encoding="utf-8")
    assert [d.text for d in read_documents([f])] == ["a\u2028b", "c"]


@pytest.mark.parametrize("flags", [["--window", "0"], ["--chunk", "sentences", "--overlap", "-1"],
                                   ["--chunk", "sentences", "--window", "2", "--overlap", "2"]])
def test_bad_chunk_windows_are_one_line(tmp_path: Path, flags: list[str]) -> None:
    """A zero window or a negative or too large overlap is a clear error, not a ValueError traceback."""
    docs = tmp_path / "d.jsonl"
    docs.write_text(json.dumps({"id": "a", "text": "alpha. beta. gamma."}) + "\n")
    out = run_cli("-q", "index", "build", str(tmp_path / "i"), "--from", str(docs), *flags)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("Error:")


def test_build_options_that_do_not_apply_are_refused(tmp_path: Path) -> None:
    """--window without --chunk sentences and --lexical with --no-lexical were ignored; local is an engine too."""
    docs = tmp_path / "d.jsonl"
    docs.write_text(json.dumps({"id": "a", "text": "alpha. beta. gamma."}) + "\n")
    for flags, error in ((["--window", "2"], "--window applies to --chunk sentences only"),
                         (["--no-lexical", "--lexical", "bm25"], "--lexical applies to a lexical index"),
                         (["--engine", "spark"], "unknown engine 'spark'; available: local, ")):
        out = run_cli("-q", "index", "build", str(tmp_path / "i"), "--from", str(docs), *flags)
        assert out.returncode != 0 and error in out.stderr.strip().splitlines()[-1] and "Traceback" not in out.stderr
        assert not (tmp_path / "i").exists()


def test_options_are_type_checked() -> None:
    """"False" is false, not truthy; 3.7 is no max_length; True is no batch size."""
    assert get_embedder("bert", normalize="False").config.normalize is False
    assert get_embedder("bert", normalize="true").config.normalize is True
    for bad in ({"max_length": 3.7}, {"batch_size": True}, {"normalize": "maybe"}, {"max_length": "long"}):
        with pytest.raises(ConfigError, match="takes"):
            get_embedder("bert", **bad)


def test_options_of_another_component_are_an_object() -> None:
    """-o embedder_options=min_df was dict('min_df'): "dictionary update sequence element #0 has length 1"."""
    from latentstack import get_classifier

    assert get_classifier("linear", embedder_options='{"min_df": 2}').config.embedder_options == {"min_df": 2}
    for bad in ("min_df", 3, ["min_df"]):
        with pytest.raises(ConfigError, match="option 'embedder_options' takes an object such as"):
            get_classifier("linear", embedder_options=bad)
        with pytest.raises(ConfigError, match="option 'input_options' takes an object"):
            get_embedder("autoencoder", input_options=bad)


def test_cli_option_false_is_false(tmp_path: Path, tiny_bert_dir: Path) -> None:
    """`embed -o normalize=False` gives unnormalised vectors (their norms are not all 1)."""
    import numpy as np

    out = run_cli("-q", "embed", "some text", "another one", "--model", str(tiny_bert_dir), "-o", "normalize=False",
                  check=True)
    norms = [float(np.linalg.norm(json.loads(row))) for row in out.stdout.splitlines()]
    assert not all(abs(n - 1) < 1e-3 for n in norms)


def test_labels_keep_one_type() -> None:
    """1 and 1.0 are one class; text mixed with numbers, fractions and None are refused."""
    texts = ["win a prize now", "see you soon", "free cash", "lunch at noon"]
    clf = get_classifier("linear", embedder="tfidf").fit(texts, [1, 0, 1.0, 0])
    assert clf.classes == [0, 1]
    for labels in (["spam", 0, "spam", 0], [1, 0, 0.5, 0], [1, 0, None, 0]):
        with pytest.raises(InputError, match="label"):
            get_classifier("linear", embedder="tfidf").fit(texts, labels)
    import numpy as np  # a NumPy array of labels, as scikit-learn users hold them: np.int64 was "not a whole number"

    for array in (np.array([1, 0, 1, 0]), np.array([1.0, 0.0, 1.0, 0.0]), np.array(["b", "a", "b", "a"])):
        clf = get_classifier("linear", embedder="tfidf").fit(np.array(texts), array)
        assert clf.classes == sorted(set(array.tolist())) and all(type(c) in (int, str) for c in clf.classes)
    with pytest.raises(InputError, match="a label is True"):
        get_classifier("linear", embedder="tfidf").fit(texts, np.array([True, False, True, False]))
    import pandas as pd  # a one-column DataFrame iterates as its column name: it was "got 1 texts and 4 labels"

    frame = pd.DataFrame({"text": texts, "label": ["b", "a", "b", "a"]})
    assert get_classifier("linear", embedder="tfidf").fit(frame["text"], frame["label"]).classes == ["a", "b"]
    with pytest.raises(InputError, match=r"got a DataFrame: give its text column \(df\['text'\]\)"):
        get_classifier("linear", embedder="tfidf").fit(frame[["text"]], frame["label"])


def test_a_model_folder_of_pickles_is_refused(tmp_path: Path) -> None:
    """A model folder whose weights are pickles is refused before anything loads them."""
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04not really")
    with pytest.raises(ModelNotInstalledError, match="pickles"):
        resolve_model(str(tmp_path))


@pytest.mark.parametrize("args", [("ann", "--n", "0"), ("ann", "--clusters", "0"), ("ann", "--queries", "0"),
                                  ("generate", "--repeats", "0"), ("generate", "--new-tokens", "0"),
                                  ("sft", "--steps", "0"), ("sft", "--batch-size", "0")])
def test_bench_counts_below_one_are_usage_errors(tmp_path: Path, args: tuple[str, ...]) -> None:
    """They were a ZeroDivisionError, numpy's ValueError or an IndexError after the work had begun."""
    data = ("--data", str(tmp_path)) if args[0] == "sft" else ()
    out = run_cli("bench", *args, *data, "--out", str(tmp_path / "b"))
    assert out.returncode == 2 and f"Invalid value for '{args[1]}'" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(("args", "error"), [
    (("serve", "--clients", "1,x"), "Invalid value for '--clients': takes comma-separated whole numbers of at least 1"),
    (("serve", "--clients", "0"), "Invalid value for '--clients'"),
    (("latent", "--sizes", "2,-8"), "Invalid value for '--sizes'"),
    (("serve", "--data", "DATA"), "--data applies to the suites that read data; bench serve sends built-in requests"),
    (("generate", "--data", "DATA"), "--data applies to the suites that read data; bench generate times a built-in"),
])
def test_bench_lists_of_counts_and_unread_data_are_usage_errors(tmp_path: Path, args: tuple[str, ...],
                                                                  error: str) -> None:
    """--clients abc was int()'s ValueError and 0 statistics' error after the server had started; bench generate
    named the --data file in its report while timing its built-in prompt."""
    (tmp_path / "prompts.txt").write_text("hello\n")
    args = tuple(str(tmp_path / "prompts.txt") if a == "DATA" else a for a in args)
    out = run_cli("bench", *args, "--out", str(tmp_path / "b"))
    assert out.returncode == 2 and error in out.stderr and "Traceback" not in out.stderr


def test_embed_of_bytes_says_to_decode_them(tiny_bert_dir: Path) -> None:
    """embed(b"...") told the user to use embed_many for lists."""
    emb = get_embedder("bert", model=str(tiny_bert_dir))
    with pytest.raises(InputError, match="got bytes: decode it first"):
        emb.embed("naïve".encode())
    with pytest.raises(InputError, match="got list: use embed_many for lists"):
        emb.embed(["a", "b"])


def test_a_where_key_given_twice_matches_either_value() -> None:
    """`--where topic=a --where topic=b` kept topic=b alone, silently."""
    from latentstack.metadata import check_where, matches, parse_where

    where = parse_where(["topic=a", "topic=b", "lang=en"])
    assert where == {"topic": ["a", "b"], "lang": "en"}
    assert matches({"topic": "a", "lang": "en"}, where) and matches({"topic": "b", "lang": "en"}, where)
    assert not matches({"topic": "c", "lang": "en"}, where) and not matches({"topic": "a", "lang": "de"}, where)
    # --where draft=true matched nothing against a JSON true (compared as "True"); Python's True still matches
    for typed in (parse_where(["draft=true"]), parse_where(["draft=True"]), {"draft": True}):
        assert matches({"draft": True}, typed) and not matches({"draft": False}, typed)
    assert matches({"draft": "True"}, parse_where(["draft=True"])) and matches({"n": 2020}, {"n": "2020"})
    import numpy as np  # NumPy values, as a DataFrame gives them: np.int64 was "not a str, number or bool"

    for numpy_where in ({"n": np.int64(2020)}, {"n": np.array([2019, 2020])}, {"draft": np.bool_(True), "n": 2020}):
        check_where(numpy_where)
        assert matches({"n": 2020, "draft": True}, numpy_where)
    for bad, said in (({"topic": []}, "an empty list"), ({"topic": [None]}, "a list holding a NoneType"),
                      ({"topic": None}, "a NoneType")):
        with pytest.raises(InputError, match=f"value for 'topic' is {said}"):
            check_where(bad)


def test_a_folder_of_documents_skips_hidden_files_and_names_the_ones_passed_over(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A .venv or .git under --from DIR was indexed (its .md and .txt files), README.MD was passed over for its
    upper-case suffix, and PDFs (read now: tests/core/search/test_pdf_pages.py) and other formats were skipped
    without a word."""
    from latentstack.search.sources import read_documents

    monkeypatch.delenv("LATENTSTACK_QUIET", raising=False)
    for name in ("a.txt", "B.MD", "c.docx", ".venv/lib/LICENSE.md", "sub/.notes.txt", "sub/d.TXT", ".git/HEAD"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"text of {name}", encoding="utf-8")
    assert sorted(d.title for d in read_documents([tmp_path])) == ["B", "a", "d"]
    said = capsys.readouterr().err
    assert f"passed over 1 file(s) under {tmp_path} that are not .txt" in said and "c.docx (convert other formats" in said


def test_a_json_file_that_is_no_list_of_documents_stops_a_build_only_when_given(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A package.json or a settings file in a folder of documents stopped the whole build; in a folder it is passed
    over with a notice, while given by itself, or a list of records one of which is wrong, it still stops it."""
    from latentstack.search.sources import read_documents

    monkeypatch.delenv("LATENTSTACK_QUIET", raising=False)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("a document", encoding="utf-8")
    (tmp_path / "docs" / "package.json").write_text('{"name": "site"}', encoding="utf-8")
    (tmp_path / "docs" / "broken.json").write_text('{"name": ', encoding="utf-8")
    assert [d.title for d in read_documents([tmp_path / "docs"])] == ["a"]
    said = capsys.readouterr().err
    assert "package.json: not a JSON list of documents" in said and "broken.json: not a JSON list" in said
    with pytest.raises(InputError, match="must hold a JSON list of objects"):
        list(read_documents([tmp_path / "docs" / "package.json"]))
    (tmp_path / "docs" / "records.json").write_text('[{"text": "ok"}, {"body": "no text"}]', encoding="utf-8")
    with pytest.raises(InputError, match="record 2 needs a string 'text' field"):
        list(read_documents([tmp_path / "docs"]))


def test_the_text_field_of_documents_may_have_another_name(tmp_path: Path, tiny_bert_dir: Path) -> None:
    """LangChain's exported documents hold their text in page_content, many CSVs in content: --text-col names it
    (they were "needs a string 'text' field" with no way round but rewriting the file)."""
    from latentstack.search.sources import read_documents

    (tmp_path / "lc.jsonl").write_text("".join(json.dumps({"page_content": t, "metadata": {"source": s}}) + "\n"
                                               for t, s in (("cats purr", "a.txt"), ("dogs bark", "b.txt"))))
    (tmp_path / "c.csv").write_text("id,content\n1,hello there\n", encoding="utf-8")
    docs = list(read_documents([tmp_path / "lc.jsonl"], "page_content"))
    assert [(d.text, d.metadata) for d in docs] == [("cats purr", {"source": "a.txt"}), ("dogs bark", {"source": "b.txt"})]
    assert [(d.id, d.text, d.metadata) for d in read_documents([tmp_path / "c.csv"], "content")] == [("1", "hello there", {})]
    with pytest.raises(InputError, match="needs a string 'text' field \\(index build --text-col names another\\)"):
        list(read_documents([tmp_path / "lc.jsonl"]))
    out = run_cli("-q", "index", "build", str(tmp_path / "i"), "--from", str(tmp_path / "c.csv"), "--model", str(tiny_bert_dir))
    assert out.returncode == 1 and "name the column of the documents' texts with --text-col" in out.stderr
    assert not (tmp_path / "i").exists()
    out = run_cli("-q", "index", "build", str(tmp_path / "i"), "--from", str(tmp_path / "c.csv"), "--text-col", "content",
                  "--model", str(tiny_bert_dir))
    assert out.returncode == 0 and "indexed 1 document as 1 chunk into" in out.stdout and "Flat, 1 vector;" in out.stdout


def test_a_glob_pattern_reads_the_files_it_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--from 'docs/**/*.md'` (llm's embed-multi --files habit, or a shell that leaves globs alone) was "does not
    exist"; it reads the files it matches, and a pattern that matches nothing is said before the embedder loads."""
    from latentstack.search.sources import read_documents

    for name in ("docs/a.md", "docs/sub/b.md", "docs/sub/c.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"text of {name}", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert [d.id for d in read_documents(["docs/**/*.md"])] == ["docs/a.md", "docs/sub/b.md"]
    with pytest.raises(InputError, match=r"docs/\*\.pdf matches no file"):
        list(read_documents(["docs/*.pdf"]))
    out = run_cli("-q", "index", "build", str(tmp_path / "i"), "--from", "docs/*.pdf", "--embedder", "nosuch")
    assert out.returncode != 0 and "matches no file" in out.stderr and not (tmp_path / "i").exists()


def test_a_glob_passes_over_what_is_not_text_and_a_binary_file_is_named(tmp_path: Path, tiny_bert_dir: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`--from 'docs/**/*'` matched a PDF beside the notes and stopped the build with "not UTF-8 (... latin1 is a
    guess)"; a glob passes over files that are not text (said, as a folder's are), and such a file given by itself
    is named as no text file rather than as latin1 (PDFs are read now: a Word file stands in)."""
    from latentstack.search.sources import read_documents

    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "notes.md").write_text("bread rises", encoding="utf-8")
    (tmp_path / "docs" / "sub" / "paper.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x01")  # Word 97
    (tmp_path / "docs" / "sub" / "note.utf16").write_bytes("a note".encode("utf-16"))  # a BOM: text, read as such
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="note.utf16 is not UTF-8 .*UTF-16 byte order mark"):
        list(read_documents(["docs/**/*"]))
    (tmp_path / "docs" / "sub" / "note.utf16").unlink()
    assert [d.id for d in read_documents(["docs/**/*"])] == ["docs/notes.md"]
    with pytest.raises(InputError, match=r"docs/sub/paper.doc is not a text file \(it holds NUL bytes.*pdftotext"):
        list(read_documents(["docs/sub/paper.doc"]))
    with pytest.raises(InputError, match=r"docs/\*\*/\*.doc matches no text file, only docs/sub/paper.doc"):
        list(read_documents(["docs/**/*.doc"]))
    out = run_cli("index", "build", str(tmp_path / "i"), "--from", "docs/**/*", "--model", str(tiny_bert_dir),
                  env={"LATENTSTACK_QUIET": ""})
    assert out.returncode == 0 and "passed over 1 file(s) matched by docs/**/* that are not text: docs/sub/paper.doc" \
        in out.stderr, out.stderr


def test_metadata_json_cannot_hold_is_refused_when_the_document_is_made() -> None:
    """A date in the metadata was "Object of type date is not JSON serializable" from deep inside add_documents."""
    import datetime

    with pytest.raises(InputError, match="document 'd': its metadata 'when' is date, which JSON cannot hold"):
        Document("d", "text", metadata={"when": datetime.date(2020, 1, 1)})
    with pytest.raises(InputError, match="document 'd': its metadata 'tags' holds U\\+D83D"):
        Document("d", "text", metadata={"tags": ["fine", "cut \ud83d"]})
    assert Document("d", "text", metadata={"when": "2020-01-01", "n": [1, {"a": 2}]}).metadata["n"] == [1, {"a": 2}]
    import numpy as np  # a DataFrame row's values: np.int64 was refused by JSON

    meta = Document("d", "text", metadata={"year": np.int64(2020), "tags": np.array(["a", "b"]), "ok": np.bool_(True)}).metadata
    assert meta == {"year": 2020, "tags": ["a", "b"], "ok": True} and type(meta["year"]) is int


def test_a_single_text_given_to_predict_says_to_wrap_it() -> None:
    """classify's predict("text") told the user to call embed(), which a classifier does not have."""
    clf = get_classifier("linear", embedder="tfidf").fit(["win cash now", "lunch at noon"] * 5, ["spam", "ham"] * 5)
    with pytest.raises(InputError, match="got a single str: wrap it in a list$"):
        clf.predict("win cash")  # type: ignore[arg-type]


def test_numpy_numbers_are_numbers(col: Collection) -> None:
    """k=np.int64(2) and options such as batch_size=np.int64(8) were "not a whole number"."""
    import numpy as np

    from latentstack.interfaces import GenerationConfig

    assert len(col.search("topic", k=np.int64(2))) == 2
    options = GenerationConfig(max_new_tokens=np.int64(5), temperature=np.float32(0.5))
    assert type(options.max_new_tokens) is int and options.max_new_tokens == 5 and type(options.temperature) is float
    assert get_embedder("tfidf", max_features=np.int64(100)).config.max_features == 100
    with pytest.raises(ConfigError, match="takes a whole number, got np.float64\\(2.5\\)"):
        get_embedder("tfidf", max_features=np.float64(2.5))
    with pytest.raises(InputError, match="k must be a whole number"):
        col.search("topic", k=np.float64(2.0))


def test_documents_may_be_dicts_as_jsonl_lines_are(col: Collection) -> None:
    """A list of dicts (as Chroma and txtai users hold their documents) was "must be Document objects"."""
    counts = col.add_documents([{"id": "n1", "text": "a note on tides", "title": "Tides", "lang": "en"},
                                {"text": "an unnamed note", "metadata": {"lang": "fr"}}])
    assert counts["documents"] == 2 and col.store.count_documents() == 7
    hits = col.search("tides", k=1, where={"lang": "en"})
    assert hits[0].doc_id == "n1" and hits[0].title == "Tides"
    assert {h.doc_id for h in col.search("note", k=7, where={"lang": "fr"})} == {"documents#2"}
    with pytest.raises(InputError, match="documents: record 1 needs a string 'text' field"):
        col.add_documents([{"id": "x", "body": "no text key"}])
    with pytest.raises(InputError, match="got dict: wrap one in a list"):
        col.add_documents({"id": "x", "text": "one alone"})  # type: ignore[arg-type]


def test_a_data_frame_or_arrow_table_is_its_rows(col: Collection) -> None:
    """A pandas DataFrame was read as its column names ("got a str: wrap each text"): its rows are documents (a
    missing cell left out of the metadata, NumPy numbers read as Python's), as are a pyarrow table's; a Series is
    refused naming what to give."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    frame = pd.DataFrame({"id": ["f1", "f2"], "text": ["a note on tides", "a note on moons"], "lang": ["en", np.nan],
                          "year": [2020, 2021]})
    assert col.add_documents(frame)["documents"] == 2
    assert {d.id: d.metadata for d in col.documents(["f1", "f2"])} == {"f1": {"lang": "en", "year": 2020},
                                                                        "f2": {"year": 2021}}
    assert col.add_documents(pa.Table.from_pandas(frame.assign(id=["t1", "t2"]), preserve_index=False))["documents"] == 2
    assert [h.doc_id for h in col.search("moons", k=4, where={"year": 2021})] in (["f2", "t2"], ["t2", "f2"])
    with pytest.raises(InputError, match="a Series is one row or one column: give the DataFrame"):
        col.add_documents(frame.iloc[0])


def test_a_csv_or_tsv_of_documents_is_read_a_row_per_document(tmp_path: Path) -> None:
    """A CSV given to index build was indexed as one document of raw CSV (header, commas, quotes and all); its rows
    are documents, read as JSONL's records, and one without a text column, a broken quote or a metadata string is
    refused with one line."""
    from latentstack.search.sources import read_documents

    (tmp_path / "faq.csv").write_text('id,question,text,\n1,"What, then?","A cat, on a mat.\nStill sitting.",\n'
                                      ',Why,Dogs bark.,\n', encoding="utf-8")
    docs = list(read_documents([tmp_path / "faq.csv"]))
    assert [(d.id, d.text, d.metadata) for d in docs] == [
        ("1", "A cat, on a mat.\nStill sitting.", {"question": "What, then?"}),  # quoted commas and line ends kept
        (f"{tmp_path / 'faq.csv'}#2", "Dogs bark.", {"question": "Why"})]  # an empty id cell: an id made, as JSONL's
    (tmp_path / "t.tsv").write_text('title\ttext\nA "quoted" one\tsome "text"\n', encoding="utf-8")
    (doc,) = read_documents([tmp_path / "t.tsv"])
    assert (doc.title, doc.text) == ('A "quoted" one', 'some "text"')
    for name, body, error in (("n.csv", "a,b\n1,2\n", "has no 'text' column (columns: a, b)"),
                              ("q.csv", 'text\n"open\n', "the row from line 2 is not valid CSV"),
                              ("m.jsonl", json.dumps({"text": "a", "metadata": "x"}) + "\n",
                               "record 1's 'metadata' must be an object of fields, got str")):
        (tmp_path / name).write_text(body, encoding="utf-8")
        with pytest.raises(InputError, match=re.escape(error)):
            list(read_documents([tmp_path / name]))
