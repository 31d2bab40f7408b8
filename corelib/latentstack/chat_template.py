"""Messages as a model's chat template takes them.

Some templates refuse a system message (Gemma's raise "System role not supported"), so a
system prompt, as `ask` and `chat --system` send, stopped generation with a template
error. For those, the system message is put at the head of the first user message, as
Ollama's Gemma template and Gemma 3's own template put it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: A system message and a user message: a template that cannot render these refuses system messages.
PROBE = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
_TAKES: dict[str, bool] = {}


def takes_system(render: Callable[[list[dict[str, str]]], Any], key: str | None = None) -> bool:
    """Whether the template ``render`` applies renders a system message (found once per ``key``, the template, when
    one is given)."""
    if key is None or key not in _TAKES:
        try:
            render(PROBE)
            found = True
        except Exception:  # noqa: BLE001 - a template raises what its author wrote (jinja's TemplateError, GenAI's)
            found = False
        if key is None:
            return found
        _TAKES[key] = found
    return _TAKES[key]


def fold_system(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """``messages`` with a leading system message put at the head of the first user message (its own user message
    when none follows it)."""
    if not messages or messages[0].get("role") != "system":
        return messages
    system, rest = messages[0]["content"], messages[1:]
    if rest and rest[0].get("role") == "user":
        return [{**rest[0], "content": f"{system}\n\n{rest[0]['content']}"}, *rest[1:]]
    return [{"role": "user", "content": system}, *rest]


def for_template(tokenizer: Any, messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """``messages`` as a transformers tokenizer's chat template takes them."""
    def render(probe: list[dict[str, str]]) -> Any:
        return tokenizer.apply_chat_template(probe, add_generation_prompt=True, tokenize=False)

    key = str(getattr(tokenizer, "chat_template", "") or "")
    return messages if takes_system(render, key) else fold_system(messages)
