"""A file of conversations that ``chat --history`` goes on with and writes each exchange to as it ends.

JSONL, one ``{"messages": [...]}`` object per conversation: the form ``adapt sft --data``
reads, so kept conversations can train an adapter. The last line is the conversation that
goes on; the lines before it are kept as they are (a UTF-8 BOM aside), and so are the continued line's other
keys and its messages as they were written (a ``developer`` role, a content in parts, a
``name``): only new messages are added. Each save rewrites the file atomically, so a crash
or a Ctrl-C leaves the previous version whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from latentstack.atomic import atomic_file
from latentstack.data.sft import check_messages
from latentstack.errors import InputError
from latentstack.textfile import lines, parse_json, read_text


class ChatFile:
    """The conversations in ``path`` (which need not exist yet); the last one is continued."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._before = ""  # the file's text before the continued conversation, kept as it is
        self._row: dict[str, Any] = {"messages": []}  # the continued conversation as written, other keys included
        self._line = ""  # ... and its line in the file ("" while it is not there yet)
        self.system = ""
        self.messages: list[dict[str, str]] = []  # its exchanges, read as the chat template takes them
        if self.path.exists():
            self._read(read_text(self.path, option="--history"))

    def _read(self, text: str) -> None:
        kept = text.rstrip()
        if not kept:
            return
        start = max(kept.rfind("\n"), kept.rfind("\r")) + 1
        line = kept[start:]
        where = f"{self.path}:{len(lines(kept))}"
        row = parse_json(line, where, "; the conversation chat --history goes on with is the last line")
        if not isinstance(row, dict) or "messages" not in row:
            msg = f"{where}: the last line is not a {{\"messages\": [...]}} conversation; give chat --history a file of them"
            raise InputError(msg)
        messages = check_messages(row["messages"], where, "messages")
        if messages[-1]["role"] != "assistant":
            msg = (f"{where}: the conversation ends with a {messages[-1]['role']} message; chat goes on after an "
                   "assistant's answer: end it with one, or give another --history file")
            raise InputError(msg)
        if messages[0]["role"] == "system":
            self.system, messages = messages[0]["content"], messages[1:]
        self._before = text[:start]
        self._row, self._line, self.messages = row, line, messages

    def save(self, transcript: list[dict[str, str]]) -> None:
        """Write the continued conversation with ``transcript``'s exchanges after those the file held."""
        new = transcript[len(self.messages):]
        if not new:
            return
        start = self._row["messages"] or ([{"role": "system", "content": self.system}] if self.system else [])
        row = {**self._row, "messages": [*start, *new]}
        line = json.dumps(row, ensure_ascii=False)
        with atomic_file(self.path) as tmp:
            tmp.write_text(self._before + line + "\n", encoding="utf-8")
        self._row, self._line, self.messages = row, line, list(transcript)

    def new_conversation(self) -> None:
        """Go on below the conversation so far: the next save starts a new line."""
        if self._line:
            self._before += self._line + "\n"
        self._row, self._line, self.messages = {"messages": []}, "", []
