"""Preference pairs in TRL's format: one ``{"prompt", "chosen", "rejected"}`` object per JSONL line.

The prompt is chat messages (conversational form) or a string (plain form); chosen and
rejected are the assistant's replies, as a one-message list ``[{"role": "assistant",
"content": ...}]`` or a string. Without a prompt (TRL's implicit-prompt form), chosen and
rejected are whole conversations and the messages they share are the prompt. Other keys
(the judge's scores) are kept but unused. LLaMA-Factory's preference forms are read too: a
prompt given as ShareGPT's ``conversations`` or Alpaca's ``instruction`` (and ``input``),
with chosen and rejected as strings or ShareGPT turns (``{"from": "gpt", "value": ...}``).
A file may also be one JSON array of such objects.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from latentstack.data.sft import SHAREGPT_ROLES, Messages, alpaca_prompt, check_messages, prompt_messages, reply_text, sharegpt_messages
from latentstack.errors import InputError
from latentstack.textfile import json_records


@attrs.frozen
class Pair:
    """A prompt (chat messages) and two replies, the first preferred."""

    prompt: Messages
    chosen: str
    rejected: str

    def to_json(self, **extra: Any) -> dict[str, Any]:
        """TRL's conversational form, with any extra keys."""
        return {"prompt": self.prompt, "chosen": [{"role": "assistant", "content": self.chosen}],
                "rejected": [{"role": "assistant", "content": self.rejected}], **extra}


def to_pair(row: object, where: str) -> Pair:
    """One JSONL row as a Pair; a malformed row is an InputError naming ``where``."""
    if isinstance(row, dict) and "prompt" not in row and {"chosen", "rejected"} <= row.keys():
        row = _published_prompt(row, where) if {"conversations", "instruction"} & row.keys() else _implicit_prompt(row, where)
    if not isinstance(row, dict) or not {"prompt", "chosen", "rejected"} <= row.keys():
        msg = f"{where}: each line needs 'prompt', 'chosen' and 'rejected'"
        raise InputError(msg)
    pair = Pair(prompt_messages(row["prompt"], where), reply_text(row["chosen"], "chosen", where),
                reply_text(row["rejected"], "rejected", where))
    if pair.chosen == pair.rejected:
        msg = f"{where}: 'chosen' and 'rejected' are the same reply, so they say nothing about a preference"
        raise InputError(msg)
    return pair


def _published_prompt(row: dict[str, Any], where: str) -> dict[str, Any]:
    """LLaMA-Factory's forms: the prompt as ShareGPT's conversations or Alpaca's instruction, each reply a string
    or a ShareGPT turn."""
    prompt = sharegpt_messages(row, where, least=1) if "conversations" in row else alpaca_prompt(row, where)
    return {**row, "prompt": prompt, **{key: _turn(row[key], key, where) for key in ("chosen", "rejected")}}


def _turn(reply: object, key: str, where: str) -> object:
    """A ShareGPT turn's text, when it is the assistant's; anything else as given (reply_text reads it)."""
    if not isinstance(reply, dict) or "from" not in reply:
        return reply
    if SHAREGPT_ROLES.get(str(reply["from"])) != "assistant":
        msg = f"{where}: {key!r} is a turn from {reply['from']!r}; a reply is the assistant's (from 'gpt')"
        raise InputError(msg)
    return reply.get("value")


def _implicit_prompt(row: dict[str, Any], where: str) -> dict[str, Any]:
    """TRL's implicit-prompt form: two whole conversations whose shared beginning is the prompt.

    What follows the shared messages must be one assistant reply on each side.
    """
    chosen, rejected = (check_messages(row[key], where, key, least=2) for key in ("chosen", "rejected"))
    shared = 0
    while shared < min(len(chosen), len(rejected)) and chosen[shared] == rejected[shared]:
        shared += 1
    if not shared or len(chosen) != shared + 1 or len(rejected) != shared + 1:
        msg = (f"{where}: without 'prompt', 'chosen' and 'rejected' must be conversations that share every message "
               "but the last, an assistant reply each")
        raise InputError(msg)
    return {**row, "prompt": chosen[:shared], "chosen": chosen[shared:], "rejected": rejected[shared:]}


def load_pairs(path: str | Path, min_chosen_score: float | None = None) -> list[Pair]:
    """Read a preference JSONL file; a bad line is an InputError naming the line.

    With ``min_chosen_score``, only pairs whose chosen reply the judge scored at least that
    (``score_chosen``, written by ``adapt pairs``) are kept.
    """
    rows = list(json_records(path))
    if min_chosen_score is not None:
        rows = [(where, row) for where, row in rows if _chosen_score(row, where) >= min_chosen_score]
    out = [to_pair(row, where) for where, row in rows]
    if not out:
        kept = "" if min_chosen_score is None else f" whose chosen reply scores at least {min_chosen_score}"
        msg = f"{path} holds no preference pairs{kept}"
        raise InputError(msg)
    return out


def _chosen_score(row: object, where: str) -> float:
    score = row.get("score_chosen") if isinstance(row, dict) else None
    if not isinstance(score, int | float) or isinstance(score, bool):
        msg = f"{where}: no numeric 'score_chosen' to filter on; pairs written by 'adapt pairs' carry one"
        raise InputError(msg)
    return float(score)


def split_pairs(pairs: Sequence[Pair], heldout: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    """Train and held-out pairs, split by prompt (a prompt's pairs stay together), seeded."""
    import random

    prompts = sorted({json.dumps(p.prompt) for p in pairs})
    random.Random(seed).shuffle(prompts)
    cut = set(prompts[: max(1, round(len(prompts) * heldout))] if heldout > 0 and len(prompts) > 1 else [])
    train = [p for p in pairs if json.dumps(p.prompt) not in cut]
    held = [p for p in pairs if json.dumps(p.prompt) in cut]
    return train, held
