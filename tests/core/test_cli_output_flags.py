"""-q and -v work after a command's name as before it: users type `latentstack index build ... -q`."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli


def test_quiet_and_verbose_after_the_command(tmp_path: Path, tiny_bert_dir: Path) -> None:
    said = run_cli("index", "build", str(tmp_path / "plain"), "--from", str(_docs(tmp_path)), "--model",
                   str(tiny_bert_dir))
    quiet = run_cli("index", "build", str(tmp_path / "quiet"), "--from", str(_docs(tmp_path)), "--model",
                    str(tiny_bert_dir), "-q")
    verbose = run_cli("index", "build", str(tmp_path / "verbose"), "--from", str(_docs(tmp_path)), "--model",
                      str(tiny_bert_dir), "--verbose")
    assert said.returncode == quiet.returncode == verbose.returncode == 0, (said.stderr, quiet.stderr)
    assert "faiss: index auto picked Flat" in said.stderr and "faiss: index auto picked" not in quiet.stderr
    assert "faiss: Flat on cpu" in verbose.stderr and "faiss: Flat on cpu" not in said.stderr


def test_every_command_offers_them() -> None:
    """Plugins' commands too (`adapt sft` comes from the finetune plugin)."""
    for command in (["search"], ["index", "add"], ["adapt", "sft"], ["bench", "ann"]):
        shown = run_cli(*command, "--help")
        assert shown.returncode == 0 and "-q, --quiet" in shown.stdout and "-v, --verbose" in shown.stdout, command


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"id": "a", "text": "alpha beta"}\n{"id": "b", "text": "gamma delta"}\n', encoding="utf-8")
    return docs
