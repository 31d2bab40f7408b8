"""``latentstack serve`` and ``ask`` through it, on tiny models: same answers, no torch in the client, reloads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from latentstack.cli import cli
from latentstack.cli.ask_cmd import _make_pipeline, _settings
from latentstack.rag.server import AskServer, socket_path
from latentstack.search import Collection, Document

from .test_pipeline import index_dir  # noqa: F401 - the fixture

OPTIONS = {"gen_name": "llm", "k": 2, "hybrid": True, "min_score": -1.0}


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short LATENTSTACK_HOME (Unix socket paths are limited to ~104 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="ls-", dir="/tmp"))
    monkeypatch.setenv("LATENTSTACK_HOME", str(path))
    monkeypatch.delenv("LATENTSTACK_QUIET", raising=False)  # an earlier `-q` in this process set it
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def server(home: Path, index_dir: Path, tiny_llama_dir: Path) -> Iterator[AskServer]:  # noqa: F811
    """A server for the test index, built and answering in its own thread (SQLite stays in one thread)."""
    opts = {**OPTIONS, "options": {"model": str(tiny_llama_dir)}}
    path = socket_path(index_dir, _settings(**opts))
    made: list[AskServer] = []
    ready = threading.Event()

    def run() -> None:
        made.append(AskServer(path, index_dir, _make_pipeline(index_dir, **opts)))
        ready.set()
        made[0].serve_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(120)
    yield made[0]
    made[0].shutdown()
    made[0].server_close()
    thread.join(5)


def ask_args(index: Path, llama: Path, *extra: str) -> list[str]:
    """The ask command line matching the server's settings."""
    return ["ask", str(index), "--model", str(llama), "-k", "2", "--min-score", "-1", *extra]


def test_ask_answers_through_the_server_as_it_would_alone(server: AskServer, index_dir: Path,  # noqa: F811
                                                          tiny_llama_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    via = runner.invoke(cli, ask_args(index_dir, tiny_llama_dir, "where did the cat sit?", "--json"))
    alone = runner.invoke(cli, ["-q", *ask_args(index_dir, tiny_llama_dir, "where did the cat sit?", "--json",
                                                "--no-server")])
    assert via.exit_code == 0 and alone.exit_code == 0, via.output + alone.output
    assert "answering through the server" in via.stderr and "answering through" not in alone.stderr
    got, want = json.loads(via.stdout), json.loads(alone.stdout)
    got.pop("timing"), want.pop("timing")
    assert got == want and got["passages"]
    streamed = runner.invoke(cli, ["-q", *ask_args(index_dir, tiny_llama_dir, "where did the cat sit?", "--stream")])
    assert streamed.exit_code == 0 and want["reply"] in streamed.output and "Sources:" in streamed.output
    bad = runner.invoke(cli, ["-q", *ask_args(index_dir, tiny_llama_dir, "  ")])
    assert bad.exit_code != 0 and "question is empty" in bad.output
    monkeypatch.delenv("LATENTSTACK_QUIET", raising=False)  # the -q runs above set it
    where = [runner.invoke(cli, [*ask_args(index_dir, tiny_llama_dir, "where did the cat sit?", "--json",
                                          "--where", "kind=finance"), *extra]) for extra in ([], ["--no-server"])]
    assert all(w.exit_code == 0 for w in where) and "answering through the server" in where[0].stderr
    assert [[p["doc_id"] for p in json.loads(w.stdout)["passages"]] for w in where] == [["market"], ["market"]]
    other = runner.invoke(cli, ask_args(index_dir, tiny_llama_dir, "where did the cat sit?", "-k", "1"))
    assert other.exit_code == 0 and "answering through" not in other.stderr  # other settings: not this server


def test_the_client_never_imports_torch(server: AskServer, index_dir: Path, tiny_llama_dir: Path) -> None:  # noqa: F811
    code = ("import sys\nfrom latentstack.cli import cli\ncli.load_plugin_commands()\n"
            f"cli.main({['-q', *ask_args(index_dir, tiny_llama_dir, 'where did the cat sit?', '--json')]!r}, "
            "standalone_mode=False)\nprint('TORCH', 'torch' in sys.modules, 'transformers' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(),
                         timeout=120, check=True)
    assert json.loads(out.stdout.splitlines()[0])["question"] == "where did the cat sit?"
    assert "TORCH False False" in out.stdout


def test_the_server_reloads_a_changed_index(server: AskServer, index_dir: Path, tiny_llama_dir: Path) -> None:  # noqa: F811
    runner = CliRunner()
    question = ["-q", *ask_args(index_dir, tiny_llama_dir, "the bird flew over the mat", "--json")]
    first = json.loads(runner.invoke(cli, question).stdout)
    generator = server.pipeline.generator
    col = Collection.load(index_dir)
    col.add_documents([Document("bird", "the bird flew over the mat", "Birds")])
    col.save()
    second = json.loads(runner.invoke(cli, question).stdout)
    assert "bird" not in [p["doc_id"] for p in first["passages"]]
    assert second["passages"][0]["doc_id"] == "bird"  # the same text: the top hit once the index is reloaded
    assert server.pipeline.generator is generator  # the models were not loaded again


def test_a_stale_socket_falls_back_to_loading_here(home: Path, index_dir: Path, tiny_llama_dir: Path) -> None:  # noqa: F811
    path = socket_path(index_dir, _settings(**OPTIONS, options={"model": str(tiny_llama_dir)}))
    path.write_text("")  # left behind by a killed server: nothing listens
    out = CliRunner().invoke(cli, ask_args(index_dir, tiny_llama_dir, "where did the cat sit?", "--json"))
    assert out.exit_code == 0, out.output
    assert "answering through" not in out.stderr and json.loads(out.stdout)["passages"]


def test_serve_refuses_a_second_server_for_the_same_settings(server: AskServer, index_dir: Path,  # noqa: F811
                                                             tiny_llama_dir: Path) -> None:
    out = CliRunner().invoke(cli, ["serve", str(index_dir), "--model", str(tiny_llama_dir), "-k", "2",
                                   "--min-score", "-1"])
    assert out.exit_code != 0 and "already runs" in out.output
