"""Supervised fine-tuning data: JSONL of chat messages, or prompt/response pairs.

Each line is ``{"messages": [{"role": ..., "content": ...}, ...]}`` whose last message
is the assistant's reply (the only part trained on), or ``{"prompt": ..., "response":
...}`` (optionally with ``"system"``).
"""

from __future__ import annotations

from pathlib import Path

from latentstack.errors import InputError
from latentstack.textfile import jsonl_rows

Messages = list[dict[str, str]]


def to_messages(row: object, where: str) -> Messages:
    """One JSONL row as chat messages ending with the assistant's reply."""
    if not isinstance(row, dict):
        msg = f"{where}: expected a JSON object, got {type(row).__name__}"
        raise InputError(msg)
    if "messages" in row:
        messages = row["messages"]
        ok = isinstance(messages, list) and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages)
        if not ok or len(messages) < 2:
            msg = f"{where}: 'messages' must be a list of at least two {{role, content}} objects"
            raise InputError(msg)
    elif isinstance(row.get("prompt"), str) and isinstance(row.get("response"), str):
        messages = ([{"role": "system", "content": row["system"]}] if row.get("system") else [])
        messages += [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row["response"]}]
    else:
        msg = f"{where}: each line needs 'messages', or 'prompt' and 'response' strings"
        raise InputError(msg)
    if messages[-1]["role"] != "assistant" or not messages[-1]["content"].strip():
        msg = f"{where}: the last message must be a non-empty assistant reply (the part that is trained on)"
        raise InputError(msg)
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def load_sft(path: str | Path) -> list[Messages]:
    """Read an SFT JSONL file; a bad line is an InputError naming the line."""
    out = [to_messages(row, where) for where, row in jsonl_rows(path)]
    if not out:
        msg = f"{path} holds no examples"
        raise InputError(msg)
    return out
