"""The ask server and its clients against hostile folders and clients: strangers' sockets are not trusted,
an idle, half-sent, malformed or oversized request gets an error and the server keeps serving."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from latentstack.cli import cli
from latentstack.rag import server as server_mod
from latentstack.rag.server import MAX_REQUEST, AskServer, UnsafeRunDirError, ask_server, connect, run_dir, socket_path

from .test_pipeline import index_dir  # noqa: F401 - the fixture
from .test_server import OPTIONS, ask_args, home, server  # noqa: F401 - the fixtures

STRANGER = 12345  # a uid that is not ours
root_only = pytest.mark.skipif(os.getuid() != 0, reason="planting another user's files needs root")


class FakeHandler(socketserver.StreamRequestHandler):
    """Answers anything with a forged answer."""

    def handle(self) -> None:
        self.rfile.readline()
        forged = {"question": "q", "answer": "FORGED", "short": "", "reply": "FORGED", "relevant": True,
                  "top_score": 1.0, "citations": [], "passages": [], "timing": {}}
        self.wfile.write((json.dumps({"token": "FORGED"}) + "\n" + json.dumps({"answer": forged}) + "\n").encode())


@pytest.fixture
def planted(home: Path, index_dir: Path, tiny_llama_dir: Path) -> Iterator[Path]:  # noqa: F811
    """A world-writable run folder holding a stranger's socket where our server's would be."""
    from latentstack.cli.ask_cmd import _settings

    folder = home / "run"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    path = socket_path(index_dir, _settings(**OPTIONS, options={"model": str(tiny_llama_dir)}))
    folder.chmod(0o777)  # socket_path narrowed it already; open it again, as the attacker left it
    fake = socketserver.UnixStreamServer(str(path), FakeHandler)
    os.chown(path, STRANGER, -1)
    thread = threading.Thread(target=fake.serve_forever, daemon=True)
    thread.start()
    yield path
    fake.shutdown()
    fake.server_close()


@root_only
def test_a_strangers_socket_is_not_trusted(planted: Path, index_dir: Path, tiny_llama_dir: Path) -> None:  # noqa: F811
    """ask does not read the forged answer: it answers itself, and the run folder is made private again."""
    out = CliRunner().invoke(cli, ask_args(index_dir, tiny_llama_dir, "where did the cat sit?", "--json"))
    assert out.exit_code == 0, out.output
    assert "FORGED" not in out.stdout and "not a socket of this user" in out.stderr
    assert (planted.parent.stat().st_mode & 0o777) == 0o700


@root_only
def test_a_run_folder_owned_by_another_user_is_refused(home: Path, index_dir: Path,  # noqa: F811
                                                        tiny_llama_dir: Path) -> None:
    """serve refuses with the reason; ask answers by itself and says why it did not ask a server."""
    folder = home / "run"
    folder.mkdir(mode=0o700)
    os.chown(folder, STRANGER, -1)
    with pytest.raises(UnsafeRunDirError, match="not a private folder of this user"):
        run_dir()
    served = CliRunner().invoke(cli, ["serve", str(index_dir), "--model", str(tiny_llama_dir)])
    assert served.exit_code != 0 and "not a private folder" in served.output
    asked = CliRunner().invoke(cli, ask_args(index_dir, tiny_llama_dir, "where did the cat sit?", "--json"))
    assert asked.exit_code == 0 and "not asking a server" in asked.stderr


def raw(path: Path, payload: bytes, *, close_write: bool = True) -> dict:
    """Send raw bytes to the server and read its first reply line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(str(path))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(payload)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        return json.loads(sock.makefile("rb").readline())


def still_serves(server: AskServer) -> None:  # noqa: F811
    """A normal question is answered after the bad client."""
    sock = connect(server.path)
    assert sock is not None
    messages = list(ask_server(sock, "where did the cat sit?"))
    assert "answer" in messages[-1]


@pytest.mark.parametrize("payload", [b"not json\n", b'{"no": "question"}\n', b'{"question": 42}\n',
                                     b'{"question": "a half line'])
def test_malformed_requests_get_an_error_and_the_server_goes_on(server: AskServer, payload: bytes) -> None:  # noqa: F811
    """Bad JSON, a missing or non-string question, or half a line: an error reply, then service as usual."""
    reply = raw(server.path, payload)
    assert reply["error"]["type"] == "InputError" and reply["error"]["message"]
    still_serves(server)


def test_an_oversized_request_gets_an_error(server: AskServer) -> None:  # noqa: F811
    """A request over the limit is answered with an error, not a broken pipe, and the server goes on."""
    reply = raw(server.path, b'{"question": "' + b"x" * (MAX_REQUEST + 10) + b'"}\n', close_write=False)
    assert "over" in reply["error"]["message"]
    still_serves(server)


def test_an_oversized_question_is_refused_by_the_client(server: AskServer) -> None:  # noqa: F811
    """The client says the question is too long before it sends anything."""
    from latentstack.errors import InputError

    sock = connect(server.path)
    with pytest.raises(InputError, match="shorten"):
        list(ask_server(sock, "x" * (MAX_REQUEST + 1)))


def test_an_idle_client_is_dropped_and_others_are_served(server: AskServer,  # noqa: F811
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that connects and sends nothing holds the server for one timeout, not for ever."""
    monkeypatch.setattr(server_mod.AskHandler, "timeout", 1.0)
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    idle.connect(str(server.path))
    start = time.monotonic()
    still_serves(server)
    assert time.monotonic() - start < 30
    reply = json.loads(idle.makefile("rb").readline())
    assert "no complete request" in reply["error"]["message"]
    idle.close()
