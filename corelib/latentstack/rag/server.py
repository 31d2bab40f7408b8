"""A resident ``ask`` process: models loaded once, questions answered over a Unix socket.

Starting Python with torch and transformers costs seconds before any model runs
(docs/generation-and-rag.md has the figures); ``latentstack serve INDEX`` pays that once, and ``latentstack ask INDEX`` with the
same settings finds its socket and answers through it without importing torch at all.

One socket per (index folder, generator settings, retrieval settings), under
``$LATENTSTACK_HOME/run`` (mode 0700, socket 0600: only this user can connect). The
protocol is JSON lines: the client sends ``{"question": ...}``; the server sends
``{"token": ...}`` lines as the answer is generated, then ``{"answer": {...}}`` (the
RagAnswer's JSON form) or ``{"error": {"type": ..., "message": ...}}``. Nothing is pickled.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import socketserver
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from latentstack.errors import InputError, LatentstackError
from latentstack.progress import log
from latentstack.sources.base import latentstack_home

MAX_REQUEST = 1 << 20  # bytes of one request line
MAX_SOCKET_PATH = 104  # sun_path is 108 bytes on Linux, 104 on macOS


READ_TIMEOUT = 10.0  # seconds a client may take to send its request (or read a piece): an idle one is dropped


class UnsafeRunDirError(LatentstackError):
    """The socket folder is not this user's own private folder: nothing is served or asked through it."""


def run_dir() -> Path:
    """The private folder holding the sockets: ``$LATENTSTACK_HOME/run``, owned by this user, mode 0700.

    A folder of ours with a wider mode is narrowed (another user could have planted a
    socket in it, and connect() trusts only this user's sockets); a folder owned by
    someone else, or a symlink, is refused with the reason.
    """
    path = latentstack_home() / "run"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        msg = (f"{path} is not a private folder of this user (owner uid {st.st_uid}, you are {os.getuid()}); "
               "nothing is served or asked through it: remove it, or set LATENTSTACK_HOME to a folder of yours")
        raise UnsafeRunDirError(msg)
    if stat.S_IMODE(st.st_mode) & 0o077:
        log(f"{path} was open to other users (mode {stat.S_IMODE(st.st_mode):o}); made private (700)")
        path.chmod(0o700)
    return path


def trusted(path: Path) -> bool:
    """Whether ``path`` is a socket owned by this user (anything else may be a stranger's)."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISSOCK(st.st_mode) and st.st_uid == os.getuid()


def socket_path(index_dir: str | Path, settings: dict[str, Any]) -> Path:
    """The socket a server for this index and these settings listens on."""
    key = json.dumps({"index": str(Path(index_dir).resolve()), **settings}, sort_keys=True)
    path = run_dir() / f"ask-{hashlib.sha256(key.encode()).hexdigest()[:16]}.sock"
    if len(str(path).encode()) > MAX_SOCKET_PATH:
        msg = (f"the socket path {path} is longer than the {MAX_SOCKET_PATH} bytes Unix sockets allow: "
               "set LATENTSTACK_HOME to a shorter folder")
        raise InputError(msg)
    return path


def index_stamp(index_dir: str | Path) -> tuple[int, ...]:
    """Modification times of the index's files: a change means the collection must be reloaded."""
    return tuple(sorted(p.stat().st_mtime_ns for p in Path(index_dir).iterdir() if p.is_file()))


def warm_up(pipeline: Any) -> None:
    """Run the embedder and one generated token once, so the models (loaded lazily) are in memory
    and the first client does not pay for loading them."""
    from latentstack.interfaces import GenerationConfig

    pipeline.collection.embed_queries(["warm up"])
    for _ in pipeline.generator.stream([{"role": "user", "content": "hi"}], GenerationConfig(max_new_tokens=1)):
        pass


class AskServer(socketserver.UnixStreamServer):
    """Answers one connection at a time with ``pipeline`` (rebuilt by ``current_pipeline`` when the index changes)."""

    def __init__(self, path: Path, index_dir: Path, make_pipeline: Any) -> None:
        self.index_dir, self.make_pipeline = index_dir, make_pipeline
        self.pipeline, self.stamp = make_pipeline(None), index_stamp(index_dir)
        warm_up(self.pipeline)
        if path.exists():
            path.unlink()  # a stale socket (its server is gone, or the caller checked it does not answer)
        super().__init__(str(path), AskHandler)
        path.chmod(0o600)
        self.path = path

    def current_pipeline(self) -> Any:
        """The pipeline, its collection reloaded if the index folder changed since it was loaded."""
        stamp = index_stamp(self.index_dir)
        if stamp != self.stamp:
            self.pipeline, self.stamp = self.make_pipeline(self.pipeline), stamp
        return self.pipeline

    def server_close(self) -> None:
        """Close and remove the socket file."""
        super().server_close()
        self.path.unlink(missing_ok=True)


class AskHandler(socketserver.StreamRequestHandler):
    """One request: a question in, tokens and the answer out. A client gets READ_TIMEOUT seconds per read."""

    timeout = READ_TIMEOUT  # applied to the connection by StreamRequestHandler.setup

    def handle(self) -> None:
        """Read one JSON line, stream the answer back; a malformed, oversized or idle request gets an error."""
        try:
            line = self.rfile.readline(MAX_REQUEST + 1)
            if not line:
                return  # a probe (``ask`` checking that a server answers) or a client gone
            if len(line) > MAX_REQUEST or not line.endswith(b"\n"):
                self._error("InputError", f"the request is over {MAX_REQUEST} bytes or not one line: send one "
                                          "JSON line {\"question\": ...}")
                return
            request = json.loads(line)
            question, where = request["question"], request.get("where")
            if not isinstance(question, str):
                raise TypeError("the question must be a string")
            if where is not None and not isinstance(where, dict):
                raise TypeError("the filter ('where') must be an object of metadata key -> value")
            pipeline = self.server.current_pipeline()  # type: ignore[attr-defined]
            stream = pipeline.answer_stream(pipeline.prepare(question, where))
            for piece in stream:
                self._send({"token": piece})
            self._send({"answer": stream.finish().to_dict()})
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away; the next one is served
        except TimeoutError:
            self._error("InputError", f"no complete request within {READ_TIMEOUT:g} s; the connection was closed")
        except (ValueError, KeyError, TypeError, LatentstackError) as exc:
            kind = type(exc).__name__ if isinstance(exc, LatentstackError) else "InputError"
            self._error(kind, str(exc) or "bad request: send {\"question\": ...}")
        except Exception as exc:  # a bug must not leave the client waiting: report it both ways
            log(f"ask server: {type(exc).__name__}: {exc}")
            self._error("ServerError", f"the server failed: {type(exc).__name__}: {exc}")

    def _send(self, obj: dict[str, Any]) -> None:
        self.wfile.write((json.dumps(obj) + "\n").encode("utf-8"))
        self.wfile.flush()

    def _error(self, kind: str, message: str) -> None:
        """Tell the client what went wrong, if it is still there."""
        with contextlib.suppress(OSError):
            self._send({"error": {"type": kind, "message": message}})


class ServerError(LatentstackError):
    """The server answered with an error."""


def connect(path: Path, timeout: float = 1.0) -> socket.socket | None:
    """A connection to the server at ``path``, or None when none answers there or it is not this user's socket."""
    if not path.exists():
        return None
    if not trusted(path):
        log(f"{path} is not a socket of this user: not trusting it")
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        return None
    sock.settimeout(None)
    return sock


def ask_server(sock: socket.socket, question: str, where: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Send ``question`` (and the metadata filter ``where``); yield the server's messages (tokens, then the answer).
    Errors are raised."""
    request = (json.dumps({"question": question, **({"where": where} if where else {})}) + "\n").encode("utf-8")
    if len(request) > MAX_REQUEST:
        msg = f"the question is {len(request)} bytes; the server takes at most {MAX_REQUEST}: shorten it"
        raise InputError(msg)
    with sock, sock.makefile("rwb") as fh:
        try:
            fh.write(request)
            fh.flush()
        except (BrokenPipeError, ConnectionResetError) as exc:
            msg = "the ask server closed the connection while the question was sent; see its log"
            raise ServerError(msg) from exc
        for line in fh:
            msg = json.loads(line)
            if "error" in msg:
                err = msg["error"]
                raise (InputError if err.get("type") == "InputError" else ServerError)(err.get("message", ""))
            yield msg
            if "answer" in msg:
                return
    msg = "the ask server closed the connection before answering; see its log"
    raise ServerError(msg)

