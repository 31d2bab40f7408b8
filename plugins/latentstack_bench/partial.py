"""A long suite's finished methods kept in a JSON file, so a stopped run resumes where it stopped.

The file maps the run's settings (data, sizes, seed...) to each finished method's rows;
a rerun with the same settings takes those rows instead of computing them again, and
one with other settings starts afresh. Each method's rows are written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from latentstack.bench.report import MethodResult


class Partial:
    """Finished methods of one run, read from and written to ``path`` (nothing kept when ``path`` is None)."""

    def __init__(self, path: Path | None, settings: dict[str, Any]) -> None:
        self.path, self.settings = path, json.loads(json.dumps(settings))
        self.done: dict[str, list[dict[str, Any]]] = {}
        if path is not None and path.exists():
            try:
                saved = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                from latentstack.errors import CorruptFileError

                msg = f"cannot read the partial results {path}: {exc}; delete it to start afresh"
                raise CorruptFileError(msg) from exc
            if saved.get("settings") == self.settings:
                self.done = saved.get("methods", {})

    def rows(self, method: str) -> list[MethodResult] | None:
        """The method's rows from an earlier run with the same settings, else None."""
        if method not in self.done:
            return None
        return [MethodResult.from_dict(r) for r in self.done[method]]

    def add(self, method: str, rows: list[MethodResult]) -> None:
        """Keep a finished method's rows (atomically rewriting the file)."""
        if self.path is None:
            return
        from latentstack.atomic import atomic_file

        self.done[method] = [r.to_dict() for r in rows]
        with atomic_file(self.path) as tmp:
            tmp.write_text(json.dumps({"settings": self.settings, "methods": self.done}))
