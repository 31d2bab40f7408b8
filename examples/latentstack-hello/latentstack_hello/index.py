"""A brute-force vector index in plain numpy, saved through latentstack's component-folder helper."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentstack.errors import ModelMismatchError
from latentstack.interfaces import Hit, Index
from latentstack.interfaces.index import check_ids
from latentstack.metadata import check_where, matches
from latentstack.storage import component_dir, read_manifest, reading, write_manifest


class NumpyIndex(Index):
    """Exact inner-product search over every stored vector; ids of any JSON type, metadata filters."""

    name = "hello-flat"

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.ids: list[str | int] = []
        self.meta: list[dict[str, Any]] = []
        self.vectors = np.zeros((0, 0), dtype=np.float32)

    def add(self, ids: Sequence[str | int], items: Any, metadata: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Store vectors under ids; an id already stored is replaced."""
        ids = check_ids(ids)
        x = self._check(np.asarray(items, dtype=np.float32).reshape(len(ids), -1))
        self.remove(ids)
        self.vectors = x if not len(self.ids) else np.vstack([self.vectors, x])
        self.ids += list(ids)
        self.meta += [dict(m) for m in (metadata or [{}] * len(ids))]

    def remove(self, ids: Sequence[str | int]) -> int:
        """Drop ids; returns how many were there."""
        gone = set(check_ids(ids))
        keep = [i for i, x in enumerate(self.ids) if x not in gone]
        removed = len(self.ids) - len(keep)
        self.ids = [self.ids[i] for i in keep]
        self.meta = [self.meta[i] for i in keep]
        self.vectors = self.vectors[keep] if len(keep) else np.zeros((0, self.vectors.shape[1]), dtype=np.float32)
        return removed

    def search_batch(self, queries: Any, k: int = 10, where: Mapping[str, Any] | None = None) -> list[list[Hit]]:
        """The k highest inner products per query, among the rows whose metadata match ``where``."""
        q = self._check(np.asarray(queries, dtype=np.float32))
        check_where(where)  # a filter's values are checked, and matched, as the built-in indexes do
        ok = np.array([matches(m, where or {}) for m in self.meta], dtype=bool)
        scores = q @ self.vectors.T if len(self.ids) else np.zeros((len(q), 0))
        out = []
        for row in scores:
            order = [i for i in np.argsort(-row) if ok[i]][:k]
            out.append([Hit(self.ids[i], float(row[i]), dict(self.meta[i])) for i in order])
        return out

    def _check(self, x: np.ndarray) -> np.ndarray:
        if len(self.ids) and x.shape[1] != self.vectors.shape[1]:
            msg = f"vectors of dim {x.shape[1]}, but this index holds dim {self.vectors.shape[1]}: embed with its model"
            raise ModelMismatchError(msg)
        return x

    def __len__(self) -> int:
        return len(self.ids)

    def save(self, path: str | Path) -> None:
        """vectors.npy under a checksummed manifest (ids and metadata in it), atomically."""
        with component_dir(path, "index") as tmp:
            np.save(tmp / "vectors.npy", self.vectors, allow_pickle=False)
            write_manifest(tmp, kind="index", plugin=self.name, config=self.config.to_dict(),
                           data={"ids": self.ids, "meta": self.meta})

    @classmethod
    def load(cls, path: str | Path) -> NumpyIndex:
        """Read a folder written by ``save``; a damaged one is a one-line CorruptFileError."""
        manifest = read_manifest(path, kind="index", plugin=cls.name)
        index = cls.from_options(**manifest.config)
        with reading(manifest.path, "hello-flat index"):
            index.vectors = np.load(manifest.path / "vectors.npy", allow_pickle=False)
            index.ids, index.meta = list(manifest.data["ids"]), list(manifest.data["meta"])
            if len(index.ids) != len(index.vectors):
                msg = f"{len(index.ids)} ids for {len(index.vectors)} vectors"
                raise ValueError(msg)
        return index
