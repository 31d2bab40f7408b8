"""`latentstack index build/add/remove/info` and `latentstack search` on real files."""

from __future__ import annotations

import json

import pytest

from ..conftest import run_cli

pytestmark = pytest.mark.slow


def test_build_search_remove_cycle(tmp_path) -> None:  # noqa: ANN001
    """Build from a folder and JSONL, search with --where and --json, remove, add, info."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "volcano.txt").write_text("Volcanoes erupt molten lava from deep inside the earth.")
    (docs / "empty.md").write_text("")
    (tmp_path / "more.jsonl").write_text(
        json.dumps({"id": "bake", "text": "Bread is baked in a hot oven.", "topic": "food"}) + "\n"
        + json.dumps({"id": "cake", "text": "A sponge cake needs eggs, flour and sugar.", "topic": "food"}) + "\n"
        + json.dumps({"id": "orbit", "text": "The moon orbits the earth every month.", "topic": "space"}) + "\n")
    idx = tmp_path / "idx"
    out = run_cli("-q", "index", "build", str(idx), "--from", str(docs), "--from", str(tmp_path / "more.jsonl"),
                  check=True)
    assert "indexed 4 documents" in out.stdout and "skipped 1 empty" in out.stdout and "Flat" in out.stdout

    res = json.loads(run_cli("search", str(idx), "how do I make a dessert", "-k", "2", "--json", check=True).stdout)
    assert res["hits"][0]["doc_id"] == "cake"
    res = json.loads(run_cli("search", str(idx), "earth", "--where", "topic=space", "--hybrid", "--json",
                             check=True).stdout)
    assert [h["doc_id"] for h in res["hits"]] == ["orbit"]

    bad = run_cli("search", str(idx), "earth", "--where", "colour=red")
    assert bad.returncode != 0 and "unknown metadata key" in bad.stderr and "Traceback" not in bad.stderr
    empty = run_cli("search", str(idx), "")
    assert empty.returncode != 0 and "empty" in empty.stderr

    assert run_cli("index", "remove", str(idx), "cake", check=True).stdout.strip() == "removed 1 of 1 documents"
    again = run_cli("index", "remove", str(idx), "cake", "no-such-id", check=True).stdout
    assert again.strip() == "removed 0 of 2 documents; not in the index: cake, no-such-id"
    res = json.loads(run_cli("search", str(idx), "dessert cake", "--json", check=True).stdout)
    assert "cake" not in [h["doc_id"] for h in res["hits"]]

    info = json.loads(run_cli("index", "info", str(idx), check=True).stdout)
    assert info["live"]["documents"] == 3 and info["metadata_keys"] == ["topic"]


def test_build_errors_are_one_line(tmp_path) -> None:  # noqa: ANN001
    """An empty corpus and a non-UTF-8 file are clear errors, and no index is left behind."""
    empty = tmp_path / "empty"
    empty.mkdir()
    out = run_cli("index", "build", str(tmp_path / "i"), "--from", str(empty))
    assert out.returncode != 0 and "no documents found" in out.stderr
    latin = tmp_path / "latin.txt"
    latin.write_bytes("na\xefve".encode("latin-1"))
    out = run_cli("index", "build", str(tmp_path / "i"), "--from", str(latin))
    assert out.returncode != 0 and "not UTF-8" in out.stderr
    assert not (tmp_path / "i").exists()
    out = run_cli("index", "build", str(tmp_path / "i"), "--from", str(latin), "--embedder", "nope")
    assert out.returncode != 0
