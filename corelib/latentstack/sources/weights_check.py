"""A cheap check that a model folder's safetensors files are whole: each file's header says how long its tensors
are, so a file cut short (a download or copy that stopped, a full disk) is one line naming it, before transformers
fails on it with a traceback. Only the headers are read; a flipped byte inside the weights is not noticed."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from latentstack.errors import CorruptFileError

#: A header longer than this is not one (safetensors caps its own at 100 MB).
MAX_HEADER = 100_000_000


def check_safetensors(folder: Path) -> None:
    """A CorruptFileError for the first ``*.safetensors`` file of ``folder`` that is shorter than its header says,
    or whose header is not one."""
    for file in sorted(folder.glob("*.safetensors")):
        size = file.stat().st_size
        expected = _expected_size(file, size)
        if expected is None or size < expected:
            said = "has no readable safetensors header" if expected is None else \
                f"is cut short ({size:,} of the {expected:,} bytes its header promises)"
            msg = (f"model folder {str(folder)!r}: {file.name} {said}: it was not fully written or downloaded; "
                   "restore it, or save or download the model again")
            raise CorruptFileError(msg)


def _expected_size(file: Path, size: int) -> int | None:
    """8 + the header's length + the end of its last tensor; None when the header cannot be read."""
    with open(file, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            return None
        (length,) = struct.unpack("<Q", head)
        if length > min(size - 8, MAX_HEADER):
            return None
        try:
            header = json.loads(fh.read(length))
        except (ValueError, UnicodeDecodeError):
            return None
    if not isinstance(header, dict):
        return None
    ends = [t.get("data_offsets", [0, 0])[1] for k, t in header.items() if k != "__metadata__" and isinstance(t, dict)]
    return 8 + length + max((int(e) for e in ends if isinstance(e, int)), default=0)
