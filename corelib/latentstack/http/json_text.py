"""The text of a JSON string value as it is written, for streaming an answer held to ``{"response": "..."}``.

The string is read up to its closing quote; an escape not yet complete (a lone backslash,
``\\u`` and fewer than four hex digits) and a high surrogate whose pair may follow wait for
the next piece, so each piece handed out is final.
"""

from __future__ import annotations

import json
import re

_TRAILING_ESCAPE = re.compile(r"(\\+)(u[0-9a-fA-F]{0,3})?$")  # a backslash run at the end, maybe \u and < 4 digits


def string_body(raw: str) -> tuple[str, bool]:
    """The JSON-escaped text of a string's body ``raw`` (after its opening quote) up to its closing quote, and
    whether that quote has come."""
    escaped = False
    for i, char in enumerate(raw):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return raw[:i], True
    return raw, False


class StringReader:
    """The decoded text of a JSON string whose escaped body grows piece by piece."""

    def __init__(self) -> None:
        self.sent = 0  # characters of the decoded text handed out

    def read(self, raw: str) -> str:
        """The text of ``raw`` (the body so far, from after the opening quote) not handed out yet, and final."""
        body, closed = string_body(raw)
        match = None if closed else _TRAILING_ESCAPE.search(body)
        if match is not None and len(match.group(1)) % 2:  # its last backslash starts an escape not yet complete
            body = body[: match.end(1) - 1]
        text = json.loads(f'"{body}"')
        if not closed and text and "\ud800" <= text[-1] <= "\udbff":  # its low surrogate may be next
            text = text[:-1]
        new, self.sent = text[self.sent:], len(text)
        return new
