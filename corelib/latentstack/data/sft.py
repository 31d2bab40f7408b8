"""Supervised fine-tuning data: JSONL of chat messages, or prompt/completion pairs.

Each line is ``{"messages": [{"role": ..., "content": ...}, ...]}`` whose last message
is the assistant's reply (the only part trained on), or TRL's prompt-completion form
``{"prompt": ..., "completion": ...}`` (``"response"`` is read as ``"completion"``; the
prompt a string or chat messages, the completion a string or one assistant message;
optionally ``"system"``). Roles are ``system`` (or OpenAI's ``developer``), ``user``,
``assistant`` and ``tool``: a misspelt role would be rendered by the chat template as
written and trained on silently. A content may be a list of text parts, as the server reads it.
For training (``load_sft_texts``) a line may also be TRL's language-modelling form,
``{"text": ...}``: plain text, every token of it trained on.

The two forms most instruction datasets are published in are read too, as LLaMA-Factory
reads them: Alpaca's ``{"instruction", "input", "output"}`` (the input, when there is one,
on a line below the instruction; optionally ``"system"``) and ShareGPT's ``{"conversations":
[{"from": "human"|"gpt"|"system"|"observation", "value": ...}]}``. A file may be JSON
lines or one JSON array of such objects (``alpaca_data.json``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from latentstack.errors import InputError
from latentstack.textfile import json_records

Messages = list[dict[str, str]]
ROLES = ("system", "user", "assistant", "tool")
#: ShareGPT's speakers as chat roles (LLaMA-Factory's tags; role names as they are also read).
SHAREGPT_ROLES = {"human": "user", "gpt": "assistant", "observation": "tool", **{r: r for r in ROLES}}
T = TypeVar("T")


def check_messages(value: object, where: str, key: str, least: int = 1) -> Messages:
    """``value`` as chat messages: a list of at least ``least`` {role, content} objects with known roles.

    A content may be a list of text parts (joined by newlines); ``developer`` is read as ``system``.
    """
    from latentstack.content import content_text

    if not isinstance(value, list) or len(value) < least:
        msg = f"{where}: {key!r} must be a list of at least {least} {{role, content}} message(s)"
        raise InputError(msg)
    out = []
    for i, m in enumerate(value, 1):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str | list):
            msg = f"{where}: message {i} of {key!r} must be a {{role, content}} object with a str role, got {m!r:.80}"
            raise InputError(msg)
        role = "system" if m["role"] == "developer" else m["role"]
        if role not in ROLES:
            msg = f"{where}: message {i} of {key!r} has role {m['role']!r}; roles are {', '.join(ROLES)} (developer: system)"
            raise InputError(msg)
        try:
            out.append({"role": role, "content": content_text(m["content"], f"{key}[{i - 1}].content")})
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from exc
    return out


def prompt_messages(value: object, where: str) -> Messages:
    """A prompt given as a non-empty string (one user message) or as chat messages."""
    if isinstance(value, str):
        if not value.strip():
            msg = f"{where}: 'prompt' is empty; give the text the reply answers"
            raise InputError(msg)
        return [{"role": "user", "content": value}]
    return check_messages(value, where, "prompt")


def reply_text(value: object, key: str, where: str) -> str:
    """An assistant reply given as a non-empty string or as one assistant message."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict) \
            and value[0].get("role") == "assistant":
        value = check_messages(value, where, key)[0]["content"]
    if not isinstance(value, str) or not value.strip():
        msg = (f"{where}: {key!r} must be a non-empty string or one assistant message "
               '[{"role": "assistant", "content": ...}]')
        raise InputError(msg)
    return value


def to_messages(row: object, where: str) -> Messages:
    """One JSONL row as chat messages ending with the assistant's reply."""
    if not isinstance(row, dict):
        msg = f"{where}: expected a JSON object, got {type(row).__name__}"
        raise InputError(msg)
    if "messages" in row:
        messages = check_messages(row["messages"], where, "messages", least=2)
    elif "prompt" in row and ("completion" in row or "response" in row):
        key = "completion" if "completion" in row else "response"
        messages = _system_of(row, where) + prompt_messages(row["prompt"], where)
        messages.append({"role": "assistant", "content": reply_text(row[key], key, where)})
    elif "instruction" in row and "output" in row:
        messages = _alpaca(row, where)
    elif "conversations" in row:
        messages = _sharegpt(row, where)
    else:
        text = " ('text' lines train a model on plain text with adapt sft; this reads chat examples)" \
            if "text" in row else ""
        msg = (f"{where}: each line needs 'messages', 'prompt' and 'completion' (or 'response'), Alpaca's "
               f"'instruction' and 'output', or ShareGPT's 'conversations'{text}")
        raise InputError(msg)
    if messages[-1]["role"] != "assistant" or not messages[-1]["content"].strip():
        msg = f"{where}: the last message must be a non-empty assistant reply (the part that is trained on)"
        raise InputError(msg)
    return messages


def _system_of(row: dict[str, object], where: str) -> Messages:
    system = row.get("system")
    if system is not None and not isinstance(system, str):
        msg = f"{where}: 'system' must be a string, got {type(system).__name__}"
        raise InputError(msg)
    return [{"role": "system", "content": system}] if system else []


def _alpaca(row: dict[str, object], where: str) -> Messages:
    """Alpaca's instruction, optional input and output as a user message and the reply."""
    return [*alpaca_prompt(row, where), {"role": "assistant", "content": reply_text(row["output"], "output", where)}]


def alpaca_prompt(row: dict[str, object], where: str) -> Messages:
    """Alpaca's optional system, instruction and optional input (on a line below it) as chat messages."""
    instruction, given = row["instruction"], row.get("input") or ""
    if not isinstance(instruction, str) or not instruction.strip() or not isinstance(given, str):
        msg = f"{where}: Alpaca's 'instruction' must be a non-empty string and 'input' a string"
        raise InputError(msg)
    asked = f"{instruction}\n{given}" if given.strip() else instruction
    return [*_system_of(row, where), {"role": "user", "content": asked}]


def _sharegpt(row: dict[str, object], where: str) -> Messages:
    return sharegpt_messages(row, where, least=2)


def sharegpt_messages(row: dict[str, object], where: str, least: int) -> Messages:
    """ShareGPT's conversation ({from, value} turns, or {role, content}) and optional system as chat messages."""
    turns = row["conversations"]
    if not isinstance(turns, list) or not turns:
        msg = f"{where}: 'conversations' must be a non-empty list of {{from, value}} turns"
        raise InputError(msg)
    messages: list[object] = []
    for i, turn in enumerate(turns, 1):
        if isinstance(turn, dict) and "from" in turn:
            role = SHAREGPT_ROLES.get(str(turn["from"]))
            if role is None:
                msg = (f"{where}: turn {i} of 'conversations' is from {turn['from']!r}; ShareGPT speakers read are "
                       f"{', '.join(SHAREGPT_ROLES)}")
                raise InputError(msg)
            turn = {"role": role, "content": turn.get("value")}
        messages.append(turn)
    return _system_of(row, where) + check_messages(messages, where, "conversations", least=least)


def to_text(row: object, where: str) -> Messages | str:
    """TRL's language-modelling form, ``{"text": ...}`` (every token trained on), as its text; other rows as
    ``to_messages`` reads them."""
    if not isinstance(row, dict) or "text" not in row or {"messages", "prompt"} & row.keys():
        return to_messages(row, where)
    if not isinstance(row["text"], str) or not row["text"].strip():
        msg = f"{where}: 'text' must be a non-empty string"
        raise InputError(msg)
    return str(row["text"])


def load_sft(path: str | Path) -> list[Messages]:
    """Read an SFT JSONL file of chat examples; a bad line is an InputError naming the line."""
    return _examples(path, to_messages)


def load_sft_texts(path: str | Path) -> list[Messages | str]:
    """Read an SFT JSONL file whose lines may also be plain ``{"text": ...}`` (``to_text``), as training reads it."""
    return _examples(path, to_text)


def _examples(path: str | Path, read: Callable[[object, str], T]) -> list[T]:
    """Each line of ``path`` as ``read`` makes it; a file without any is an InputError."""
    out = [read(row, where) for where, row in json_records(path)]
    if not out:
        msg = f"{path} holds no examples"
        raise InputError(msg)
    return out


def split_examples(examples: list[T], heldout: float, seed: int) -> tuple[list[T], list[T]]:
    """Train and held-out examples, split by prompt (the examples of one prompt stay together; a plain text is its
    own prompt), seeded, as ``prefs.split_pairs`` splits pairs; a share too small to hold out one prompt is refused."""
    import json
    import random

    def prompt(example: T) -> str:
        return example if isinstance(example, str) else json.dumps(example[:-1])  # type: ignore[index]

    prompts = sorted({prompt(e) for e in examples})
    held_n = round(len(prompts) * heldout)
    if heldout > 0 and not 0 < held_n < len(prompts):
        msg = (f"holding out {heldout:g} of {len(prompts)} prompt(s) leaves {'none held out' if held_n == 0 else 'none to train on'}: "
               "give more examples, another share, or --eval-data")
        raise InputError(msg)
    random.Random(seed).shuffle(prompts)
    cut = set(prompts[:held_n])
    return [e for e in examples if prompt(e) not in cut], [e for e in examples if prompt(e) in cut]
