"""The embedding cache's size cap: least recently used files go first, the one just written stays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentstack.errors import ConfigError


def test_the_cache_keeps_under_its_cap_dropping_the_least_recently_used(
        tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three sets of vectors where two fit: the one neither written nor read last goes; a read counts as a use; the
    vectors read back are the ones written; a file the cache did not write stays, and does not count."""
    from latentstack import get_embedder
    from latentstack.cache import cache_dir, embed_cached

    monkeypatch.setenv("LATENTSTACK_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    own = tmp_path / "cache" / "my-vectors.npy"  # a user's file in the folder they named: never the cache's to remove
    np.save(own, np.zeros((64, 64)))
    emb = get_embedder("bert", model=str(tiny_bert_dir), dtype="float32", show_progress=False)
    sets = {name: [f"{name} text {i}" for i in range(8)] for name in ("a", "b", "c")}
    first = embed_cached(emb, sets["a"])
    (one,) = set(cache_dir().glob("*.npy")) - {own}
    monkeypatch.setenv("LATENTSTACK_CACHE_MAX_MB", str(2.5 * one.stat().st_size / 2**20))
    embed_cached(emb, sets["b"])
    assert len(list(cache_dir().glob("*.npy"))) == 3
    np.testing.assert_array_equal(embed_cached(emb, sets["a"]), first)  # a read: "a" is now newer than "b"
    embed_cached(emb, sets["c"])
    kept = {p.name for p in cache_dir().glob("*.npy")}
    assert len(kept) == 3 and one.name in kept and own.name in kept
    calls: list[int] = []
    original = type(emb).embed_batch
    monkeypatch.setattr(type(emb), "embed_batch", lambda self, t: calls.append(len(t)) or original(self, t))
    np.testing.assert_array_equal(embed_cached(emb, sets["a"]), first)
    embed_cached(emb, sets["c"])
    assert calls == []  # both read back
    embed_cached(emb, sets["b"])
    assert calls == [8]  # "b" was the one dropped: computed again


def test_a_cap_that_is_not_a_size_is_refused_before_embedding(
        tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from latentstack import get_embedder
    from latentstack.cache import embed_cached

    monkeypatch.setenv("LATENTSTACK_CACHE", str(tmp_path / "cache"))
    emb = get_embedder("bert", model=str(tiny_bert_dir), show_progress=False)
    for bad in ("2GB", "-1", "nan"):
        monkeypatch.setenv("LATENTSTACK_CACHE_MAX_MB", bad)
        with pytest.raises(ConfigError, match="LATENTSTACK_CACHE_MAX_MB.*give a number of MB"):
            embed_cached(emb, ["a text"])
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").glob("*.npy"))
    monkeypatch.setenv("LATENTSTACK_CACHE_MAX_MB", "inf")  # no cap
    embed_cached(emb, ["a text"])
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1


def test_a_cache_that_cannot_be_written_costs_only_the_cache(
        tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """LATENTSTACK_CACHE naming a file: the vectors computed are returned and the reason said in one line (it was
    a traceback after the embedding, so a classify train lost its work)."""
    from latentstack import get_embedder
    from latentstack.cache import embed_cached

    monkeypatch.delenv("LATENTSTACK_QUIET", raising=False)
    (tmp_path / "file").write_text("mine")
    monkeypatch.setenv("LATENTSTACK_CACHE", str(tmp_path / "file"))
    emb = get_embedder("bert", model=str(tiny_bert_dir), show_progress=False)
    np.testing.assert_array_equal(embed_cached(emb, ["a text", "another"]), emb.embed_many(["a text", "another"]))
    assert f"not cached, {tmp_path / 'file'} cannot be written" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "mine"


def test_cache_info_and_clear_at_the_command_line(tiny_bert_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """`cache info` counts the cache's files and bytes (JSON too); `cache clear` asks first (no: nothing removed),
    then removes only the cache's files; a second clear has nothing to do."""
    import json

    from click.testing import CliRunner

    from latentstack import get_embedder
    from latentstack.cache import cache_dir, embed_cached
    from latentstack.cli import cli

    monkeypatch.setenv("LATENTSTACK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LATENTSTACK_CACHE_MAX_MB", "64")
    emb = get_embedder("bert", model=str(tiny_bert_dir), show_progress=False)
    for name in ("a", "b"):
        embed_cached(emb, [f"{name} text {i}" for i in range(8)])
    own = cache_dir() / "mine.npy"
    np.save(own, np.ones(3))
    written = sum(p.stat().st_size for p in cache_dir().glob("*.npy") if p != own)
    runner = CliRunner()
    shown = json.loads(runner.invoke(cli, ["cache", "info", "--json"]).stdout)
    assert shown["files"] == 2 and shown["bytes"] == written and shown["cap_bytes"] == 64 * 2**20
    assert "2 files" in runner.invoke(cli, ["cache", "info"]).stdout
    refused = runner.invoke(cli, ["cache", "clear"], input="n\n")
    assert refused.exit_code == 1 and len(list(cache_dir().glob("*.npy"))) == 3
    done = runner.invoke(cli, ["cache", "clear"], input="y\n")
    assert done.exit_code == 0 and "removed 2 files" in done.stdout
    assert list(cache_dir().glob("*.npy")) == [own]
    again = runner.invoke(cli, ["cache", "clear", "--yes"])
    assert again.exit_code == 0 and "nothing to clear" in again.stdout
