"""A chat message's content as one string: a string, or a list of OpenAI-style text parts.

Newer OpenAI clients, LangChain and TRL's datasets write ``"content": [{"type": "text",
"text": ...}, ...]``; the text parts are joined by newlines, as OpenAI-compatible servers
do. A part of another type (an image, audio) is refused naming it: the models read text.
"""

from __future__ import annotations

from typing import Any


def content_text(value: Any, where: str) -> str:
    """``value`` as one string; anything else is a ValueError naming ``where`` and the part at fault."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list) or not value:
        msg = f"'{where}' must be a string or a non-empty list of text parts"
        raise ValueError(msg)
    texts = []
    for j, part in enumerate(value):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(kind, str) and kind != "text":
            msg = f"'{where}[{j}]' is a part of type {kind}; the chat models read text only"
            raise ValueError(msg)
        else:
            msg = f"'{where}[{j}]' must be {{\"type\": \"text\", \"text\": STRING}}"
            raise ValueError(msg)
    return "\n".join(texts)
