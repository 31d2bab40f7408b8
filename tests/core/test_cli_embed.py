"""`latentstack embed`: vectors as JSON lines or a .npy file, the same as the Python API's, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ..conftest import run_cli, run_cli_session


def test_json_lines_match_the_python_api(tiny_bert_dir: Path) -> None:
    from latentstack import get_embedder

    texts = ["the cat sat on the mat", "a dog barked", ""]
    out = run_cli("-q", "embed", *texts, "--model", str(tiny_bert_dir), check=True)
    rows = np.array([json.loads(line) for line in out.stdout.splitlines()], dtype=np.float32)
    expected = get_embedder("bert", model=str(tiny_bert_dir)).embed_many(texts)
    assert rows.shape == expected.shape and np.allclose(rows, expected, atol=1e-6)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)


def test_from_file_to_npy_keeps_one_row_per_line(tiny_bert_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "texts.txt"
    source.write_text("first line\n\nthird line\n", encoding="utf-8")
    printed = run_cli("-q", "embed", "--from", str(source), "--model", str(tiny_bert_dir), "-o", "normalize=false",
                      check=True)
    rows = np.array([json.loads(line) for line in printed.stdout.splitlines()], dtype=np.float32)
    assert rows.shape[0] == 3 and not np.allclose(np.linalg.norm(rows, axis=1), 1.0)  # -o reached the config
    out = run_cli("-q", "embed", "--from", str(source), "--model", str(tiny_bert_dir), "-o", "normalize=false",
                  "--out", str(tmp_path / "v.npy"), check=True)
    saved = np.load(tmp_path / "v.npy", allow_pickle=False)
    assert saved.dtype == np.float32 and np.allclose(saved, rows, atol=1e-6)
    assert out.stdout.startswith(f"saved 3 vectors of dimension {rows.shape[1]} to ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["texts.txt", "v.npy"]  # no temporary file left beside it


@pytest.mark.parametrize(("args", "message"), [
    ((), "no texts given"),
    (("hi", "--out", "v.txt"), "must end in .npy"),
    (("hi", "--embedder", "tfidf"), "learns its vectors from a corpus"),
    (("hi", "--embedder", "no-such-embedder"), "no-such-embedder"),
    (("hi", "-o", "max_length"), "takes KEY=VALUE"),
    (("hi", "-o", "colour=red"), "colour"),
    (("a\udcffb",), "text #0 holds U+DCFF at character 1"),  # a command line's byte 0xff (not UTF-8)
])
def test_errors_are_one_line(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    out = run_cli("embed", *args)
    assert out.returncode != 0 and message in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""


@pytest.mark.slow
def test_minilm_vectors_rank_a_paraphrase_above_an_unrelated_text() -> None:
    out = run_cli("-q", "embed", "A man is playing a guitar.", "Someone plays an instrument.",
                  "The stock market fell sharply today.", check=True)
    a, b, c = (np.array(json.loads(line)) for line in out.stdout.splitlines())
    assert a.shape == (384,) and a @ b > 0.4 > a @ c


def test_texts_longer_than_the_embedder_reads_are_counted(tiny_bert_dir: Path) -> None:
    """embed says how many texts it cut to the model's window; with none cut it says nothing."""
    texts = ["short", "a text of a few more words"]
    cut = run_cli("embed", *texts, "--model", str(tiny_bert_dir), "-o", "max_length=8", check=True)
    assert "1 of 2 texts are longer than the bert embedder reads" in cut.stderr
    whole = run_cli("embed", *texts, "--model", str(tiny_bert_dir), check=True)
    assert "longer than" not in whole.stderr


def test_a_fitted_embedder_saved_from_python_embeds_from_the_command_line(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A saved TF-IDF (sparse rows) embeds by its folder, as load_embedder gives it back; a new option is refused."""
    from latentstack import get_embedder, load_embedder
    from latentstack.errors import CorruptFileError

    fitted = get_embedder("tfidf").fit(["win a prize now", "see you at lunch", "free prize text now"])
    fitted.save(tmp_path / "tfidf")
    texts = ["prize now", "lunch"]
    expected = fitted.embed_many(texts).toarray()
    assert np.allclose(load_embedder(tmp_path / "tfidf").embed_many(texts).toarray(), expected)
    out = run_cli("-q", "embed", *texts, "--embedder", str(tmp_path / "tfidf"), check=True)
    assert np.allclose(np.array([json.loads(line) for line in out.stdout.splitlines()]), expected, atol=1e-6)
    reopt = run_cli("embed", "x", "--embedder", str(tmp_path / "tfidf"), "-o", "min_df=2")
    assert reopt.returncode == 2 and "a saved one keeps the options it was fitted with" in reopt.stderr
    (tmp_path / "notes").mkdir()
    other = run_cli("embed", "x", "--embedder", str(tmp_path / "notes"))
    assert other.returncode == 1 and "is not a saved embedder" in other.stderr and "Traceback" not in other.stderr
    with pytest.raises(CorruptFileError, match="not a saved embedder"):
        load_embedder(tmp_path / "notes")
    (tmp_path / "tfidf").rename(tmp_path / "bert")  # a folder named as a plugin: the plugin is meant, ./bert the folder
    monkeypatch.chdir(tmp_path)
    named = run_cli("-q", "embed", "x", "--embedder", "bert", "--model", "no-such-model")
    assert named.returncode == 1 and "unknown model 'no-such-model'" in named.stderr
    folder = run_cli("-q", "embed", *texts, "--embedder", "./bert", check=True)
    assert np.allclose(np.array([json.loads(line) for line in folder.stdout.splitlines()]), expected, atol=1e-6)


def test_from_dash_reads_standard_input(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """`embed --from -` was "Path '-' does not exist"."""

    source = tmp_path / "texts.txt"
    source.write_text("first line\n\nthird line\n", encoding="utf-8")
    from_file = run_cli("-q", "embed", "--from", str(source), "--model", str(tiny_bert_dir), check=True)
    piped = run_cli("-q", "embed", "--from", "-", "--model", str(tiny_bert_dir), stdin=source.read_bytes(), check=True)
    assert piped.stdout == from_file.stdout and len(from_file.stdout.splitlines()) == 3


def test_a_table_is_read_by_its_text_column(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A CSV, TSV or JSONL --from was read a text a line: its header embedded as a text and every row whole, commas,
    quotes and ids included. Its text column is read (--text-col names another), a row a vector."""
    from latentstack import get_embedder

    texts = ["the cat sat, purring", 'a "quoted" dog\nbarked']
    (tmp_path / "t.csv").write_text('id,text\n1,"the cat sat, purring"\n2,"a ""quoted"" dog\nbarked"\n', encoding="utf-8")
    (tmp_path / "t.jsonl").write_text("".join(json.dumps({"id": i, "body": t}) + "\n" for i, t in enumerate(texts)),
                                      encoding="utf-8")
    expected = get_embedder("bert", model=str(tiny_bert_dir)).embed_many(texts)
    *tables, missing = run_cli_session([  # one process: the imports once
        ["-q", "embed", *args, "--model", str(tiny_bert_dir)]
        for args in (["--from", str(tmp_path / "t.csv")], ["--from", str(tmp_path / "t.jsonl"), "--text-col", "body"],
                     ["--from", str(tmp_path / "t.jsonl")])])
    for out in tables:
        assert out.returncode == 0, out.stderr
        rows = np.array([json.loads(line) for line in out.stdout.splitlines()], dtype=np.float32)
        assert rows.shape == expected.shape and np.allclose(rows, expected, atol=1e-6)
    assert missing.returncode == 1 and "has no column 'text' (columns: id, body)" in missing.stderr
