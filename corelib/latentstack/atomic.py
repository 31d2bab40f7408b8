"""Atomic writes: write to a temporary name beside the target, then rename it into place.

A crash at any point leaves either the old file (or folder) whole or the new one whole.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from latentstack.locks import real_path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path; on success fsync it and rename it over ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary folder; on success swap it in for ``path``.

    The old folder is renamed aside first and removed only after the new one is in
    place, so a crash leaves one whole folder under ``path`` or its ``.old`` twin. A
    symlink is followed: the folder it points to is replaced and the link stays a link.
    """
    target = real_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual mode
        old = target.with_name(f".{target.name}.old")
        if old.exists():
            shutil.rmtree(old)
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def recover_dir(path: str | os.PathLike[str], patience: float = 10.0) -> Path:
    """Return ``path``, first restoring it from its ``.old`` twin if a swap was cut short.

    A writer in the middle of its swap (it holds the writer lock) is given ``patience``
    seconds to finish instead; the folder is only restored when no process writes it.
    """
    from latentstack.locks import unless_writing

    target = real_path(path)
    old = target.with_name(f".{target.name}.old")
    deadline = time.monotonic() + patience
    while not target.exists() and old.exists():
        with unless_writing(target) as free:
            if free and not target.exists() and old.exists():
                os.replace(old, target)
                break
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    return Path(path) if Path(path).is_symlink() else target


def clean_debris(path: str | os.PathLike[str]) -> list[Path]:
    """Remove what killed writes of ``path`` left beside it (temporary and half-deleted folders).

    Call it only while holding the writer lock of ``path``: a live writer's temporary
    folder looks the same as a dead one's. Returns what was removed.
    """
    target = real_path(path)
    if not target.parent.exists():
        return []
    debris = [p for p in target.parent.glob(f".{target.name}.*.tmp")]
    old = target.with_name(f".{target.name}.old")
    if old.exists() and target.exists():
        debris.append(old)
    for p in debris:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return debris
