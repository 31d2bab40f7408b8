"""Responses kept in a SQLite file (`serve --http --keep-responses FILE`): a restarted server goes on from them by
`previous_response_id`; what it forgets is gone from the file too; a file it cannot read is refused, untouched."""

from __future__ import annotations

import re
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from latentstack.errors import CorruptFileError, InputError
from latentstack.http.responses_file import ResponsesFile
from latentstack.http.responses_store import ResponseStore

from ...conftest import another_writer, run_cli
from .conftest import CHAT


@contextmanager
def _server(path: Path) -> Iterator[Any]:
    """SmolLM2 served on a loopback port with its responses kept in ``path``; the openai client of it."""
    from openai import OpenAI

    from latentstack.http.app import build_app
    from latentstack.http.run import InThread
    from latentstack.http.state import Served

    with ResponsesFile(path) as file:
        running = InThread(build_app(Served(generator="llm", generator_options={"model": CHAT},
                                            responses=ResponseStore(file=file))))
        try:
            yield OpenAI(base_url=f"{running.url}/v1", api_key="unused")
        finally:
            running.stop()


def test_a_restarted_server_goes_on_from_its_kept_responses(tmp_path: Path) -> None:
    import openai

    path = tmp_path / "responses.sqlite"
    with _server(path) as client:
        first = client.responses.create(model=CHAT, input="My name is Ada.", max_output_tokens=8)
        gone = client.responses.create(model=CHAT, input="Forget this.", max_output_tokens=4)
        client.responses.delete(gone.id)
    assert path.stat().st_mode & 0o077 == 0  # conversations: readable by their owner alone
    with _server(path) as client:  # a new server process would read the same file
        assert client.responses.retrieve(first.id).output_text == first.output_text
        second = client.responses.create(model=CHAT, input="What is my name?", previous_response_id=first.id,
                                          max_output_tokens=8)
        said = [{"role": "user", "content": "My name is Ada."},
                {"type": "message", "role": "assistant",
                 "content": [{"type": "output_text", "text": first.output_text}]},
                {"role": "user", "content": "What is my name?"}]
        whole = client.responses.create(model=CHAT, input=said, max_output_tokens=8, store=False)
        assert second.output_text == whole.output_text and second.usage.input_tokens == whole.usage.input_tokens
        with pytest.raises(openai.NotFoundError, match=f"kept here .* in {re.escape(str(path))}"):
            client.responses.retrieve(gone.id)  # deleted before the restart: gone from the file too
    with ResponsesFile(path) as file:
        assert [row[2]["id"] for row in file.rows()] == [first.id, second.id]


def _keep(store: ResponseStore, i: int, previous: str | None = None) -> None:
    store.keep({"id": f"r{i}", "output": [{"said": i}]}, previous, [{"asked": i}])


def test_the_file_holds_what_the_store_keeps_within_its_limits(tmp_path: Path) -> None:
    path = tmp_path / "kept.sqlite"
    with ResponsesFile(path) as file:
        store = ResponseStore(limit=3, file=file)
        for i, previous in enumerate((None, "r0", "r1", "r2")):
            _keep(store, i, previous)  # r0 is pushed out of memory and out of the file
    with ResponsesFile(path) as file:
        again = ResponseStore(limit=3, file=file)
        assert list(again.kept) == ["r1", "r2", "r3"] and again.get("r3").inputs == 1
        assert again.get("r2").items == [{"asked": 2}, {"said": 2}] and again.size == sum(
            k.size for k in again.kept.values())
    with ResponsesFile(path) as file:
        smaller = ResponseStore(limit=1, file=file)  # a server started with a lower limit forgets the oldest
        assert list(smaller.kept) == ["r3"]
    with ResponsesFile(path) as file:
        assert [row[2]["id"] for row in file.rows()] == ["r3"]


def test_a_file_it_cannot_read_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"my notes, not a database\n" * 100)
    with pytest.raises(CorruptFileError, match="is not a file of kept responses .*move it away"):
        ResponsesFile(junk)
    assert junk.read_bytes() == b"my notes, not a database\n" * 100
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE mine (x)")
    before = other.read_bytes()
    with pytest.raises(CorruptFileError, match="another program's database"):
        ResponsesFile(other)
    assert other.read_bytes() == before
    with pytest.raises(InputError, match="cannot keep responses: it is a folder; give a file path"):
        ResponsesFile(tmp_path)
    with pytest.raises(InputError, match="its folder does not exist"):
        ResponsesFile(tmp_path / "missing" / "kept.sqlite")


def test_a_damaged_row_is_named(tmp_path: Path) -> None:
    path = tmp_path / "kept.sqlite"
    with ResponsesFile(path) as file:
        _keep(ResponseStore(file=file), 0)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE responses SET items = '[{\"cut'")
    with ResponsesFile(path) as file, pytest.raises(CorruptFileError, match="the kept response 'r0' is damaged"):
        ResponseStore(file=file)


def test_serve_refuses_a_second_server_on_one_file_and_a_file_it_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "kept.sqlite"
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = str(free.getsockname()[1])
    with another_writer(path) as pid:
        done = run_cli("serve", "--http", "--port", port, "--keep-responses", str(path))
    assert done.returncode != 0 and f"is being written by another server (pid {pid})" in done.stderr
    assert "another --keep-responses FILE" in done.stderr and not path.exists()
    path.write_text("not a database")
    done = run_cli("serve", "--http", "--port", port, "--keep-responses", str(path))
    assert done.returncode != 0 and "is not a file of kept responses" in done.stderr
    assert path.read_text() == "not a database"
