"""A file a command writes (``--out FILE``), checked before the work so that nothing a user owns is replaced.

A command may replace a file it could have written itself (a NumPy array for ``embed``,
its own JSONL for ``adapt squad-data`` and ``adapt pairs``), as a save replaces a saved
folder of its kind; never one of its inputs, a folder, or a file of another kind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from latentstack.errors import InputError
from latentstack.locks import real_path


def check_out_file(out: str | Path, what: str, ours: Callable[[Path], bool], inputs: Iterable[str | Path] = ()) -> None:
    """Raise InputError, before any work, where writing ``what`` to ``out`` would replace something else.

    ``ours(path)`` says whether an existing file holds ``what`` (so may be replaced); an
    empty file may always be. ``inputs`` are the files the command reads.
    """
    target = real_path(out)
    for given in inputs:
        if Path(given).exists() and real_path(given) == target:
            msg = f"--out {out} is the command's own input {given}: the input was left as it is; choose another name for the {what}"
            raise InputError(msg)
    if target.is_dir():
        msg = f"--out {out} is a folder: give a file name for the {what}"
        raise InputError(msg)
    if target.exists() and target.stat().st_size and not ours(target):
        msg = (f"{out} already exists and does not hold {what}: it was left as it is; choose another name, "
               "or move the file away first")
        raise InputError(msg)
    _check_writable(target, out)


def _check_writable(target: Path, out: str | Path) -> None:
    folder = target.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        msg = f"cannot write --out {out}: {folder} is not a folder this user may write to; choose another path"
        raise InputError(msg)


def jsonl_with(keys: set[str]) -> Callable[[Path], bool]:
    """A test for ``ours``: the file's first line is a JSON object holding every one of ``keys``."""

    def test(path: Path) -> bool:
        try:
            with open(path, encoding="utf-8") as fh:
                row = json.loads(fh.readline())
        except (OSError, ValueError):
            return False
        return isinstance(row, dict) and keys <= row.keys()

    return test


def numpy_array(path: Path) -> bool:
    """A test for ``ours``: the file is a NumPy ``.npy`` array (its header reads)."""
    import numpy as np

    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)  # reads the header; maps, does not read, the rest
    except (OSError, ValueError, EOFError):
        return False
    return isinstance(array, np.ndarray)
