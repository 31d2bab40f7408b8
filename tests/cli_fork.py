"""`latentstack ARGS` for the tests, forked from a process that has imported torch and transformers once: each
command still runs in a new process of its own, with its environment, working folder, standard input, exit code
and output as `python -m latentstack ARGS` started by subprocess has them, without paying those imports again
(seconds a command). latentstack itself is imported afresh by each command.

A command whose environment differs from the warm process's in a variable read when Python starts or when the
warm modules are imported (PYTHONPATH, HF_*, OMP_*, ...) runs as a real new process, as do all commands where the
warm process cannot start or fork safely.
"""

from __future__ import annotations

import atexit
import json
import locale
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: What every heavy command imports; nothing of latentstack's.
WARM = ("numpy", "scipy.sparse", "sklearn.linear_model", "torch", "safetensors.torch", "tokenizers", "transformers",
        "faiss")
#: Prefixes of the variables read when Python starts or when the warm modules are imported.
READ_AT_START = ("PYTHON", "HF_", "HUGGINGFACE", "TRANSFORMERS", "TORCH", "OMP_", "MKL_", "KMP_", "TOKENIZERS",
                 "CUDA", "LD_", "LANG", "LC_")

_SERVER = r"""
import atexit, json, os, runpy, sys, threading, traceback, types
warm, stdin_fd = json.loads(sys.argv[1]), int(sys.argv[2])
for name in warm:
    __import__(name)
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer  # their modules, loaded lazily
print(json.dumps({"ready": threading.active_count() == 1}), flush=True)  # forking beside threads is unsafe


def exit_code(code):
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def run(ask):
    os.chdir(ask["cwd"])
    os.environ.clear()
    os.environ.update(ask["env"])
    os.dup2(os.open(ask["stdin"], os.O_RDONLY) if ask["stdin"] else stdin_fd, 0)
    os.close(stdin_fd)
    for fd, path in ((1, ask["out"]), (2, ask["err"])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_TRUNC), fd)
    encoding = sys.stdout.encoding
    sys.stdin = sys.__stdin__ = open(0, encoding=sys.stdin.encoding, closefd=False)
    sys.stdout = sys.__stdout__ = open(1, "w", encoding=encoding, closefd=False)
    sys.stderr = sys.__stderr__ = open(2, "w", buffering=1, encoding=encoding, errors="backslashreplace",
                                       closefd=False)
    try:
        if ask["code"] is None:
            sys.argv = ["latentstack", *ask["args"]]
            runpy.run_module("latentstack", run_name="__main__", alter_sys=True)
        else:  # as python -c CODE runs it: in a new __main__ module
            sys.argv = ["-c", *ask["args"]]
            sys.modules["__main__"] = main = types.ModuleType("__main__")
            exec(compile(ask["code"], "<string>", "exec"), main.__dict__)
        code = 0
    except SystemExit as exc:
        code = exit_code(exc.code)
    except BaseException:
        traceback.print_exc()
        code = 1
    threading._shutdown()  # what a process does as it exits: wait for its threads, then its atexit functions
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        try:
            run(json.loads(line))
        except BaseException:
            traceback.print_exc()  # before its output was set up: on the warm process's own stderr
        finally:
            os._exit(1)
    print(json.dumps({"pid": pid}), flush=True)
    print(json.dumps({"status": os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}), flush=True)
"""


class Forks:
    """The warm process, started at the first command; None once it cannot serve (commands then start afresh)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}
        self.buffer = b""
        self.broken = sys.platform == "win32" or not hasattr(os, "fork")

    def run(self, args: list[str], env: dict[str, str], timeout: float, *, code: str | None = None,
            cwd: Path | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess[str] | None:
        """``latentstack ARGS`` (or ``python -c CODE ARGS``) forked, reading ``stdin`` if given (else the tests' own
        standard input), in ``cwd`` (else the current folder); None where it must start afresh."""
        with self.lock:
            if self.broken or not self._started() or _started_with(env) != _started_with(self.env):
                return None
            with tempfile.TemporaryDirectory() as tmp:
                out, err, given = Path(tmp, "out"), Path(tmp, "err"), Path(tmp, "in")
                out.touch()
                err.touch()
                if stdin is not None:
                    given.write_bytes(stdin)
                ask = {"args": args, "code": code, "env": env, "cwd": str(cwd or os.getcwd()), "out": str(out),
                       "err": str(err), "stdin": str(given) if stdin is not None else None}
                try:
                    status = self._ask(ask, timeout)
                except (OSError, ValueError, EOFError):
                    self.broken = True
                    return None
                cmd = [sys.executable, *(["-c", code] if code is not None else ["-m", "latentstack"]), *args]
                text = (text_of(out.read_bytes()), text_of(err.read_bytes()))
                if status is None:
                    raise subprocess.TimeoutExpired(cmd, timeout, text[0], text[1])
                return subprocess.CompletedProcess(cmd, status, *text)

    def _started(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None or self._broke()
        try:
            stdin = os.dup(0)
        except OSError:  # no standard input at all: the commands read an empty one
            stdin = os.open(os.devnull, os.O_RDONLY)
        self.env = dict(os.environ)
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", _SERVER, json.dumps(WARM), str(stdin)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=(stdin,))
        finally:
            os.close(stdin)
        atexit.register(self.close)
        try:
            ready = json.loads(self._line(300))["ready"]
        except (OSError, ValueError, EOFError, KeyError):
            ready = False
        return ready or self._broke()

    def _broke(self) -> bool:
        self.broken = True
        return False

    def _ask(self, ask: dict[str, object], timeout: float) -> int | None:
        """The command's exit status, or None when it ran past ``timeout`` (then it is killed)."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(ask).encode() + b"\n")
        self.proc.stdin.flush()
        pid = json.loads(self._line(60))["pid"]
        try:
            return int(json.loads(self._line(timeout))["status"])
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            self._line(60)
            return None

    def _line(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        fd, deadline = self.proc.stdout.fileno(), time.monotonic() + timeout
        while b"\n" not in self.buffer:
            if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimeoutError
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _started_with(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.upper().startswith(READ_AT_START)}


def text_of(data: bytes) -> str:
    """As subprocess's text mode reads a child's output: the locale's encoding, universal newlines."""
    return data.decode(locale.getpreferredencoding(False)).replace("\r\n", "\n").replace("\r", "\n")


FORKS = Forks()
