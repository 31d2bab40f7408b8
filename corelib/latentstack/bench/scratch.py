"""A suite run's temporary folders (exports, saved heads, indexes), removed when the run ends, however it ends.

A suite asks ``scratch_dir(kind)`` for a folder; ``suite`` (bench/options.py) runs the body
inside ``scratch_scope()``, which removes every folder asked for during the run, so an ONNX
export or a saved index is not left behind in the temporary directory run after run.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_FOLDERS: list[Path] = []


def scratch_dir(kind: str) -> Path:
    """A new empty folder ``latentstack-KIND-*`` in the temporary directory, removed when the suite run ends."""
    folder = Path(tempfile.mkdtemp(prefix=f"latentstack-{kind}-"))
    _FOLDERS.append(folder)
    return folder


@contextmanager
def scratch_scope() -> Iterator[None]:
    """Remove the folders ``scratch_dir`` gives out inside this block when it ends."""
    start = len(_FOLDERS)
    try:
        yield
    finally:
        for folder in _FOLDERS[start:]:
            shutil.rmtree(folder, ignore_errors=True)
        del _FOLDERS[start:]
