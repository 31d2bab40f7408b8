"""Embedding shards: fixed groups of passages whose vectors are written to disk as soon as each is whole.

A job is named by its embedder, options and texts; a shard by its own texts (content
addressed), under ``$LATENTSTACK_HOME/shards/<job>/``. Each shard file is written
atomically, so a job killed at any point leaves only whole shards, and a rerun with
``resume`` embeds only the shards that are not there yet. Rows are counted as they
arrive: a row seen twice (a retried task) is kept once, and a missing one is an error.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentstack.errors import LatentstackError


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\\0")
    return h.hexdigest()[:24]


class Shards:
    """The shards of one embedding job and the vectors collected so far."""

    def __init__(self, folder: Path, texts: Sequence[str], size: int, names: list[str]) -> None:
        self.folder, self.texts, self.size, self.names = folder, texts, size, names
        self.start = {name: i * size for i, name in enumerate(names)}
        self.pending: dict[str, dict[int, np.ndarray]] = {}

    @classmethod
    def for_job(cls, texts: Sequence[str], embedder: str, options: Mapping[str, Any], size: int) -> Shards:
        """The shards of embedding ``texts`` with this embedder and options, in shards of ``size`` passages."""
        from latentstack.sources.base import latentstack_home

        # Each shard is named by its texts; the job by the shard names, so every text is hashed once.
        names = [f"{_digest(list(texts[s: s + size]))}-{s}" for s in range(0, len(texts), size)]
        job = _digest(embedder, dict(options), size, len(texts), names)
        return cls(latentstack_home() / "shards" / job, texts, size, names)

    def rows(self, name: str) -> range:
        """The positions of a shard's passages."""
        s = self.start[name]
        return range(s, min(s + self.size, len(self.texts)))

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.npy"

    def all(self) -> list[str]:
        return list(self.names)

    def missing(self) -> list[str]:
        """Shards with no finished file."""
        return [n for n in self.names if not self.path(n).is_file()]

    def clear(self) -> None:
        """Forget the shards of an earlier run of this job (without ``resume`` a job starts afresh)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def take(self, positions: Any, vectors: np.ndarray) -> None:
        """Add embedded rows; a shard whose rows are all in is written at once."""
        for pos, vec in zip(np.asarray(positions).tolist(), vectors, strict=True):
            name = self.names[pos // self.size]
            rows = self.pending.setdefault(name, {})
            rows[pos] = vec  # a repeat (a retried task) overwrites: kept once
            if len(rows) == len(self.rows(name)):
                self._write(name, np.stack([rows[i] for i in self.rows(name)]))
                del self.pending[name]

    def _write(self, name: str, block: np.ndarray) -> None:
        from latentstack.atomic import atomic_file

        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_file(self.path(name)) as tmp, open(tmp, "wb") as f:
            np.save(f, block, allow_pickle=False)

    def check_complete(self, names: Sequence[str]) -> None:
        """Every shard in ``names`` is on disk, or the job lost rows: say how many."""
        lost = [n for n in names if not self.path(n).is_file()]
        if lost:
            missing = sum(len(self.rows(n)) - len(self.pending.get(n, {})) for n in lost)
            msg = (f"the ray engine lost {missing} passages in {len(lost)} shard(s); nothing was indexed. "
                   "Run again with --engine-option resume=true to reuse the finished shards")
            raise LatentstackError(msg)

    def assemble(self) -> np.ndarray:
        """All vectors, in the order of the texts."""
        blocks = []
        for name in self.names:
            block = np.load(self.path(name), allow_pickle=False)
            if block.shape[0] != len(self.rows(name)):
                msg = f"shard {self.path(name)} holds {block.shape[0]} rows, not {len(self.rows(name))}: run without resume"
                raise LatentstackError(msg)
            blocks.append(block)
        return np.concatenate(blocks).astype(np.float32, copy=False)
