"""A batch's answers kept as they come, in ``OUT.part`` beside the results, so a batch stopped half-way (Ctrl-C, a
crash, a machine going down) goes on where it stopped when the same command runs again.

The file's first line names the settings that answered (the generator, its options, the served models); each
further line holds one answered request's output line under a key of its custom_id and its request (url and body),
so a request edited since is answered anew. An answer the server failed (a 5xx) is answered again; a refused one
(a 4xx) is kept. A line cut short by a stop is skipped. The file is removed once the results are written.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import IO, Any

from latentstack.errors import InputError
from latentstack.http.batch import BatchRequest

HEADER = "latentstack_batch_answers"


def request_key(request: BatchRequest) -> str:
    """The key an answer is kept under: its custom_id and a digest of what it asked."""
    asked = json.dumps([request.url, request.body], sort_keys=True, ensure_ascii=False)
    return f"{request.custom_id}:{hashlib.sha256(asked.encode()).hexdigest()[:16]}"


class KeptAnswers:
    """The answers of earlier runs of one batch, and the file the new ones are added to."""

    def __init__(self, out: str | Path, settings: dict[str, Any]) -> None:
        self.path = Path(f"{out}.part")
        self.settings = json.loads(json.dumps(settings, default=str))  # as it reads back
        self.torn = False  # the file ends in a line a stop cut short
        self.fresh = True  # the file holds no header yet (none, empty, or its header line cut short): write it anew
        self.earlier = self._read() if self.path.exists() else {}
        self.handle: IO[str] | None = None

    def _read(self) -> dict[str, dict[str, Any]]:
        """The kept answers of ``path`` (a 5xx or a cut line left out); a file of another kind, or of other
        settings, is an InputError that says what to do."""
        text = self.path.read_text(encoding="utf-8", errors="replace")
        start = '{"' + HEADER
        if "\n" not in text and (text.startswith(start) or start.startswith(text)):
            return {}  # stopped before its header was whole: nothing was answered yet
        self.fresh, self.torn, rows = False, not text.endswith("\n"), text.split("\n")
        try:
            head = json.loads(rows[0])
        except ValueError:
            head = None
        if not isinstance(head, dict) or HEADER not in head:
            msg = f"{self.path} exists and does not hold a batch's kept answers: it was left as it is; move it away"
            raise InputError(msg)
        if head[HEADER] != self.settings:
            msg = (f"{self.path} holds the answers of this batch run with other options (a generator, model or "
                   "served model of its own): give the options it was run with to go on, or delete it to answer anew")
            raise InputError(msg)
        kept = {}
        for row in rows[1:]:
            try:
                entry = json.loads(row)
            except ValueError:  # the line a stop cut short
                continue
            if entry["line"]["response"]["status_code"] < 500:
                kept[entry["key"]] = entry["line"]
        return kept

    def answer(self, request: BatchRequest) -> dict[str, Any] | None:
        """The kept answer to ``request``, if any."""
        return self.earlier.get(request_key(request))

    def add(self, request: BatchRequest, line: dict[str, Any]) -> None:
        """Keep a new answer (written and flushed at once)."""
        if self.handle is None:
            self.handle = open(self.path, "w" if self.fresh else "a", encoding="utf-8")  # noqa: SIM115 - held until ``remove``
            if self.fresh:
                self.handle.write(json.dumps({HEADER: self.settings}) + "\n")
            elif self.torn:
                self.handle.write("\n")  # after a line a stop cut short
        key = request_key(request)
        self.handle.write(json.dumps({"key": key, "line": line}) + "\n")
        self.handle.flush()
        self.earlier[key] = line

    def remove(self) -> None:
        """Close and delete the file (the results hold every answer now)."""
        if self.handle is not None:
            self.handle.close()
        self.path.unlink(missing_ok=True)
