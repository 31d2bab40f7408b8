"""Exclusive writer locks on saved folders: an OS file lock (flock) that dies with its process.

A kill -9 releases the lock with the process, so it is never left stuck. The lock files
live under ``$LATENTSTACK_HOME/locks`` (named by a hash of the folder's real path), never
inside the user's folders. A process may take the same lock again while it holds it
(a command holds the lock around load, change and save; the save takes it again).
Readers take no lock: a save swaps a whole folder in, so they always see a whole version.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from latentstack.errors import LatentstackError

DEFAULT_WAIT = 60.0
_held: set[Path] = set()  # the lock files this process holds (the outermost holder releases them)


class LockedError(LatentstackError):
    """Another process is writing the same folder and did not finish within the wait."""


def real_path(path: str | os.PathLike[str]) -> Path:
    """The folder a path really names: a symlink's target, a relative path made absolute."""
    p = Path(path)
    return p.resolve() if p.is_symlink() else p.parent.resolve() / p.name


def lock_file(path: str | os.PathLike[str]) -> Path:
    """Where the lock for ``path`` lives."""
    from latentstack.sources.base import latentstack_home

    folder = latentstack_home() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{hashlib.sha256(str(real_path(path)).encode()).hexdigest()[:32]}.lock"


def _holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode().strip() or "?"
    except OSError:
        return "?"


def _try(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def writer_lock(path: str | os.PathLike[str], wait: float | None = None, busy: str = "") -> Iterator[None]:
    """Hold the exclusive writer lock of ``path``; wait up to ``wait`` seconds for another writer, then fail; with
    ``busy`` (a message naming ``{path}`` and ``{pid}``), fail at once."""
    file = lock_file(path)
    if file in _held:  # this process holds it already: the outer holder releases it
        yield
        return
    fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(fd, path, DEFAULT_WAIT if wait is None else wait, busy)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held.add(file)
        try:
            yield
        finally:
            _held.discard(file)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: str | os.PathLike[str], wait: float, busy: str = "") -> None:
    if _try(fd):
        return
    if busy:
        raise LockedError(busy.format(path=path, pid=_holder(fd)))
    from latentstack.progress import log

    log(f"{path} is being written by another process (pid {_holder(fd)}); waiting up to {wait:g} s")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if _try(fd):
            return
    msg = (f"{path} is being written by another process (pid {_holder(fd)}); nothing was changed: "
           "try again when it is done, or wait longer with --wait SECONDS")
    raise LockedError(msg)


@contextlib.contextmanager
def sole_writer(path: str | os.PathLike[str], by: str, option: str = "--out") -> Iterator[None]:
    """Hold ``path``'s writer lock for a whole run that writes it (a training run, a batch, a server: minutes to
    hours): while another process holds it, ``by`` (a training run, say), this one is refused at once, before any
    work, and told to give another ``option``."""
    busy = ("{path} is being written by " + by + " (pid {pid}); nothing was changed: give this one another "
            + option + ", or start it when that one has ended")
    with writer_lock(path, busy=busy):
        yield


@contextlib.contextmanager
def unless_writing(path: str | os.PathLike[str]) -> Iterator[bool]:
    """Yield True holding the lock if no other process writes ``path`` right now, else False (never waits)."""
    file = lock_file(path)
    if file in _held:
        yield True
        return
    fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        got = _try(fd)
        try:
            yield got
        finally:
            if got:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
