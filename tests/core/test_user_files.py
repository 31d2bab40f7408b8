"""Nothing a user owns is lost: foreign folders are refused, writers take turns, links stay links, debris goes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from latentstack.errors import ConflictError, InputError
from latentstack.locks import LockedError, writer_lock
from latentstack.search import Collection, Document

from ..conftest import run_cli, run_cli_session
from .conftest_helpers import write_squad


def docs_file(path: Path, ids: range, prefix: str = "doc") -> Path:
    """A JSONL file of short documents with the given ids."""
    path.write_text("".join(json.dumps({"id": f"{prefix}{i}", "text": f"note number {i} about {prefix} things"})
                            + "\n" for i in ids))
    return path


@pytest.fixture
def small_index(tmp_path: Path, tiny_bert_dir: Path) -> Path:
    """A 200-document index on the tiny BERT (fast: plumbing, not quality)."""
    idx = tmp_path / "idx"
    run_cli("-q", "index", "build", str(idx), "--from", str(docs_file(tmp_path / "base.jsonl", range(200))),
            "--model", str(tiny_bert_dir), check=True)
    return idx


def test_a_build_refuses_a_folder_of_the_users_files(tmp_path: Path) -> None:
    """`index build mydocs` on a folder holding notes.md fails in one line and leaves notes.md alone."""
    mine = tmp_path / "mydocs"
    mine.mkdir()
    (mine / "notes.md").write_text("keep")
    out = run_cli("-q", "index", "build", str(mine), "--from", str(docs_file(tmp_path / "a.jsonl", range(3))))
    assert out.returncode != 0 and "left as they are" in out.stderr and "Traceback" not in out.stderr
    assert (mine / "notes.md").read_text() == "keep" and sorted(os.listdir(mine)) == ["notes.md"]


@pytest.mark.parametrize("command", [
    ["classify", "train", "--data", "DATA", "--embedder", "tfidf", "--out", "OUT"],
    ["export", "onnx", "--model", "MODEL", "--no-optimize", "--out", "OUT"],
    ["adapt", "sft", "--data", "DATA", "--out", "OUT"],
])
def test_every_out_refuses_a_folder_of_the_users_files(command: list[str], tmp_path: Path,
                                                        tiny_bert_dir: Path) -> None:
    """classify train, export onnx and adapt sft refuse a non-empty foreign --out before any work."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep")
    data = tmp_path / "data.tsv"
    data.write_text("split\tlabel\ttext\ntrain\tham\thi there\ntrain\tspam\twin a prize\n")
    args = [{"DATA": str(data), "OUT": str(mine), "MODEL": str(tiny_bert_dir)}.get(a, a) for a in command]
    out = run_cli("-q", *args)
    assert out.returncode != 0 and "left as they are" in out.stderr, out.stderr
    assert sorted(os.listdir(mine)) == ["thesis.tex"]


def test_an_artifact_of_another_kind_is_refused(tmp_path: Path) -> None:
    """A saved classifier folder is not replaced by an index build, nor read as an adapter."""
    data = tmp_path / "data.tsv"
    data.write_text("split\tlabel\ttext\ntrain\tham\thi there\ntrain\tspam\twin a prize\n")
    run_cli("-q", "classify", "train", "--data", str(data), "--embedder", "tfidf", "--out", str(tmp_path / "c"),
            check=True)
    out = run_cli("-q", "index", "build", str(tmp_path / "c"), "--from", str(docs_file(tmp_path / "a.jsonl", range(2))))
    assert out.returncode != 0 and "holds a saved classifier, not a collection" in out.stderr
    from latentstack.errors import CorruptFileError
    from latentstack.storage import read_manifest

    with pytest.raises(CorruptFileError, match="holds a saved classifier .*, not an adapter$"):  # was "not a adapter"
        read_manifest(tmp_path / "c", kind="adapter")


def test_an_out_file_never_replaces_an_input_or_a_foreign_file(tmp_path: Path, tiny_bert_dir: Path) -> None:
    """embed, adapt squad-data and adapt pairs refuse, before any work, an --out that is their own input or a file
    of another kind; they replace a file they could have written (an earlier run's output)."""
    squad = write_squad(tmp_path)
    lines_npy = tmp_path / "lines.npy"  # a text file with the suffix embed asks for
    lines_npy.write_text("first\nsecond\n")
    thesis = tmp_path / "thesis.npy"
    thesis.write_text("keep")
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"text": "keep"}\n')
    sft = tmp_path / "sft.jsonl"
    embed = ["-q", "embed", "--model", str(tiny_bert_dir), "--from", str(lines_npy), "--out"]
    squad_data = ["adapt", "squad-data", "--data", str(squad), "--limit", "2", "--out"]
    pairs = ["adapt", "pairs", "--data", str(sft), "--out"]
    before = {f: f.read_bytes() for f in (squad, lines_npy, thesis, notes)}
    runs = run_cli_session([[*squad_data, str(squad)], [*squad_data, str(notes)], [*squad_data, str(sft)],
                            [*squad_data, str(sft)], [*pairs, str(sft)], [*pairs, str(notes)],
                            [*embed, str(lines_npy)], [*embed, str(thesis)], [*embed, str(tmp_path / "v.npy")],
                            [*embed, str(tmp_path / "v.npy")], [*squad_data, str(notes / "x.jsonl")]])
    refused = [runs[i] for i in (0, 1, 4, 5, 6, 7)]
    assert all(r.returncode != 0 and "left as it is" in r.stderr and "Traceback" not in r.stderr for r in refused), refused
    assert "own input" in runs[0].stderr and "does not hold SFT examples" in runs[1].stderr
    assert "own input" in runs[4].stderr and "own input" in runs[6].stderr and "does not hold a NumPy" in runs[7].stderr
    assert runs[10].returncode != 0 and "is not a folder" in runs[10].stderr and "Traceback" not in runs[10].stderr
    assert [runs[i].returncode for i in (2, 3, 8, 9)] == [0, 0, 0, 0]  # their own earlier outputs are replaced
    assert {f: f.read_bytes() for f in before} == before
    assert len(sft.read_text().splitlines()) == 2 and np.load(tmp_path / "v.npy").shape[0] == 2


def test_two_concurrent_adds_lose_nothing(small_index: Path, tmp_path: Path) -> None:
    """Two `index add` runs at once both succeed and the index ends with every document (200 + 50 + 50)."""
    cmd = [sys.executable, "-m", "latentstack", "-q", "index", "add", str(small_index), "--from"]
    runs = [subprocess.Popen([*cmd, str(docs_file(tmp_path / f"{p}.jsonl", range(50), prefix=p))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in ("a", "b")]
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0 and "added 50 documents" in out, err
    info = json.loads(run_cli("index", "info", str(small_index), check=True).stdout)
    assert info["live"]["documents"] == 300


def test_a_second_writer_fails_clearly_after_its_wait(small_index: Path, tmp_path: Path) -> None:
    """While this process holds the lock, `index add --wait 0.5` gives up in one line and changes nothing."""
    with writer_lock(small_index):
        out = run_cli("-q", "index", "add", str(small_index), "--wait", "0.5", "--from",
                      str(docs_file(tmp_path / "c.jsonl", range(5), prefix="c")))
    assert out.returncode != 0 and "being written by another process" in out.stderr
    assert json.loads(run_cli("index", "info", str(small_index), check=True).stdout)["live"]["documents"] == 200


def test_the_python_api_refuses_to_undo_another_writer(small_index: Path) -> None:
    """Two Collection objects loaded from one index: the second save is a ConflictError, the first kept."""
    first, second = Collection.load(small_index), Collection.load(small_index)
    first.add_documents([Document("x1", "the first writer's document")])
    first.save()
    second.add_documents([Document("x2", "the second writer's document")])
    with pytest.raises(ConflictError, match="another writer"):
        second.save()
    again = Collection.load(small_index)
    assert again.store.has_document("x1") and not again.store.has_document("x2")
    again.add_documents([Document("x2", "redone after reloading")])
    again.save()  # a reloaded object may save
    assert Collection.load(small_index).store.count_documents() == 202


def test_a_symlinked_index_is_updated_through_its_link(small_index: Path, tmp_path: Path) -> None:
    """`index remove link ID`: the link stays a link, its target loses the document, later saves work."""
    link = tmp_path / "link_idx"
    link.symlink_to(small_index)
    out = run_cli("-q", "index", "remove", str(link), "doc3")
    assert out.returncode == 0, out.stderr
    assert link.is_symlink() and small_index.is_dir() and not small_index.is_symlink()
    assert not Collection.load(small_index).store.has_document("doc3")
    run_cli("-q", "index", "remove", str(link), "doc4", check=True)
    assert Collection.load(link).store.count_documents() == 198


def test_debris_of_killed_writes_is_cleaned_on_the_next_write(small_index: Path, tmp_path: Path) -> None:
    """A temporary folder and a half-deleted .old twin beside the index are gone after the next save."""
    tmp = small_index.with_name(f".{small_index.name}.x1y2.tmp")
    old = small_index.with_name(f".{small_index.name}.old")
    for d in (tmp, old):
        d.mkdir()
        (d / "big.bin").write_bytes(b"0" * 1000)
    run_cli("-q", "index", "remove", str(small_index), "doc1", check=True)
    assert not tmp.exists() and not old.exists()


def test_lock_is_reentrant_and_released() -> None:
    """The same process may take a lock it holds; another waiter gets it once released."""
    path = Path("/tmp/latentstack-lock-test")
    with writer_lock(path), writer_lock(path):
        pass
    with writer_lock(path, wait=0):
        pass


def test_a_held_lock_makes_another_process_fail_in_one_line(tmp_path: Path) -> None:
    """A second process cannot take the lock this one holds; it fails with LockedError after its wait."""
    code = ("from latentstack.locks import writer_lock, LockedError\n"
            f"try:\n    writer_lock({str(tmp_path / 'x')!r}, wait=0.2).__enter__()\nexcept LockedError as e:\n"
            "    print('locked:', e)\n")
    with writer_lock(tmp_path / "x"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("locked:") and "another process" in out.stdout
    assert LockedError.__mro__[1].__name__ == "LatentstackError"
    with pytest.raises(InputError, match="is a file"):
        from latentstack.storage import check_replaceable

        (tmp_path / "f").write_text("x")
        check_replaceable(tmp_path / "f", "collection")


def test_chunks_deleted_from_the_store_are_noticed(small_index: Path) -> None:
    """Deleting rows from store.sqlite behind latentstack's back is a one-line error, not wrong answers."""
    import sqlite3

    from latentstack.errors import CorruptFileError

    db = sqlite3.connect(small_index / "store.sqlite")
    db.execute("DELETE FROM chunks WHERE id IN (SELECT id FROM chunks LIMIT 100)")
    db.commit()
    db.close()
    with pytest.raises(CorruptFileError, match="store.sqlite") as err:
        Collection.load(small_index)
    assert "\n" not in str(err.value)


def test_swapped_labels_in_a_classifier_are_noticed(tmp_path: Path) -> None:
    """Editing a saved classifier's labels by hand is caught by the manifest's own digest."""
    from latentstack import get_classifier, load_classifier
    from latentstack.errors import CorruptFileError

    clf = get_classifier("linear", embedder="tfidf").fit(["win cash now", "see you at noon"] * 3, ["spam", "ham"] * 3)
    clf.save(tmp_path / "c")
    manifest = tmp_path / "c" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"ham"', '"TMP"').replace('"spam"', '"ham"').replace('"TMP"', '"spam"'))
    with pytest.raises(CorruptFileError, match="edited or damaged"):
        load_classifier(tmp_path / "c")
