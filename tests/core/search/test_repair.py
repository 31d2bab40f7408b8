"""A collection's damaged built parts are rebuilt from the documents its store holds, with its recorded settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from latentstack.errors import CorruptFileError
from latentstack.search import Collection, repair
from latentstack.storage import read_manifest
from tests.conftest import run_cli

TOPICS = ["bread dough yeast oven", "volcano lava eruption ash", "stock market shares trading",
          "football match goal striker", "garden tomatoes water soil"]
DOCS = [{"id": f"d{i}", "text": f"{TOPICS[i % 5]} note {i} about {TOPICS[(i * 3) % 5].split()[i % 4]}",
         "topic": f"t{i % 5}"} for i in range(40)]
QUERIES = ["yeast in the oven", "lava and ash", "shares", "goal"]


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A whole lsa collection (a fitted embedder, FAISS Flat and BM25) of 40 short documents."""
    col = Collection.create(tmp_path / "col", embedder="lsa", embedder_options={"components": 8})
    col.add_documents(DOCS)
    col.save()
    return tmp_path / "col"


def _answers(path: Path, hybrid: bool = True) -> list[list[tuple[str, float]]]:
    col = Collection.load(path)
    return [[(h.doc_id, round(h.score, 5)) for h in col.search(q, k=5, hybrid=hybrid)] for q in QUERIES]


def test_a_whole_collection_is_left_as_it_is(built: Path) -> None:
    digest = read_manifest(built, kind="collection", version=None).digest
    assert repair(built) == {"embedder": "ok", "dense": "ok", "lexical": "ok"}
    assert read_manifest(built, kind="collection", version=None).digest == digest


@pytest.mark.parametrize(("damage", "rebuilt", "load_fails"), [
    (lambda p: (p / "dense" / "index.faiss").write_bytes(b"cut"), {"dense"}, True),
    (lambda p: (p / "lexical" / "manifest.json").unlink(), {"lexical"}, True),
    (lambda p: shutil.rmtree(p / "lexical"), {"lexical"}, True),
    (lambda p: (p / "lexical" / "token_ids.npy").write_bytes(b"cut"), {"lexical"}, False),  # a load reads it later
    (lambda p: (p / "embedder" / "components.npy").write_bytes(b"cut"), {"embedder", "dense"}, True),
])
def test_a_damaged_part_is_rebuilt_and_answers_as_before(built: Path, damage, rebuilt: set[str],  # noqa: ANN001
                                                        load_fails: bool) -> None:
    """Loading names the damaged part and the command that rebuilds it; a check names it and writes nothing;
    after repair every query answers as the whole collection did (a refitted lsa too: it was fitted on the same
    passages), and it takes new documents."""
    before = _answers(built)
    damage(built)
    if load_fails:
        with pytest.raises(CorruptFileError, match="index repair"):
            Collection.load(built)
    files = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    checked = repair(built, check=True)
    assert {k for k, v in checked.items() if v.startswith("damaged: ")} == rebuilt
    assert {p: p.read_bytes() for p in built.rglob("*") if p.is_file()} == files
    states = repair(built)
    assert {k for k, v in states.items() if v.startswith("rebuilt: ")} == rebuilt
    assert {k for k, v in states.items() if v == "ok"} == {"embedder", "dense", "lexical"} - rebuilt
    assert _answers(built) == before
    col = Collection.load(built)
    col.add_documents([{"id": "new", "text": "sourdough bread starter"}])
    col.save()
    assert Collection.load(built).search("sourdough starter", k=1)[0].doc_id == "new"


def test_an_index_holding_other_passages_is_rebuilt(built: Path, tmp_path: Path) -> None:
    """A vector index with fewer passages than the store (a part from another save) is rebuilt."""
    other = Collection.create(tmp_path / "other", embedder="lsa", embedder_options={"components": 8})
    other.add_documents(DOCS[:10])
    other.save()
    before = _answers(built, hybrid=False)
    shutil.rmtree(built / "dense")
    shutil.copytree(tmp_path / "other" / "dense", built / "dense")
    with pytest.raises(CorruptFileError, match="inconsistent.*index repair"):
        Collection.load(built)
    assert repair(built)["dense"] == "rebuilt: it holds 10 passages, the store 40"
    assert _answers(built, hybrid=False) == before


def test_a_damaged_store_is_refused_and_nothing_written(built: Path) -> None:
    """The documents are what everything is rebuilt from: a damaged store is an error, the folder left as it was."""
    (built / "store.sqlite").write_bytes(b"cut")
    files = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    with pytest.raises(CorruptFileError, match="store.sqlite is truncated or corrupt"):
        repair(built)
    assert {p: p.read_bytes() for p in built.rglob("*") if p.is_file()} == files


def test_the_cli_repairs_and_says_what_it_did(built: Path, tmp_path: Path) -> None:
    (built / "dense" / "index.faiss").write_bytes(b"cut")
    checked = run_cli("index", "repair", str(built), "--check", check=False)
    assert checked.returncode == 1 and checked.stdout.splitlines()[1].startswith("dense: damaged: ")
    assert run_cli("index", "repair", str(built), "--check", check=False).returncode == 1  # nothing was written
    out = run_cli("index", "repair", str(built))
    assert out.stdout.splitlines()[0] == "embedder: ok"
    assert out.stdout.splitlines()[1].startswith("dense: rebuilt: ") and "lexical: ok" in out.stdout
    assert run_cli("index", "repair", str(built), "--check").stdout.split() == ["embedder:", "ok", "dense:", "ok",
                                                                                 "lexical:", "ok"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep", encoding="utf-8")
    refused = run_cli("index", "repair", str(mine), check=False)
    assert refused.returncode == 1 and "is not a saved collection" in refused.stderr
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "keep" and len(list(mine.iterdir())) == 1


def test_a_second_writer_is_waited_for_then_refused(built: Path) -> None:
    """repair holds the folder's writer lock throughout: while another process writes, it waits --wait seconds,
    then fails with one line, having changed nothing."""
    from latentstack.locks import writer_lock

    (built / "dense" / "index.faiss").write_bytes(b"cut")
    files = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    with writer_lock(built):
        refused = run_cli("index", "repair", str(built), "--wait", "0.2", check=False)
    assert refused.returncode == 1 and "being written by another process" in refused.stderr
    assert {p: p.read_bytes() for p in built.rglob("*") if p.is_file()} == files
