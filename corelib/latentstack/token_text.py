"""Each token's own text and UTF-8 bytes, as OpenAI's log-probabilities show them.

A byte-level BPE (GPT-2, Llama 3, SmolLM2, Qwen) spells every byte as one printable
character, so a token that holds half of a character still has its exact bytes; a
SentencePiece byte-fallback token (``<0xE2>``) is one byte, and another SentencePiece piece
its text with the word-start mark read as a space; any other token is the UTF-8 of its
decoded text. The text shown for a token is its bytes read as UTF-8, with U+FFFD for
an incomplete character.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from latentstack.interfaces.generator import TokenScore

BYTE_FALLBACK = re.compile(r"<0x([0-9A-Fa-f]{2})>")


@cache
def _byte_of_char() -> dict[str, int]:
    """GPT-2's byte-level alphabet, reversed: each printable stand-in character to the byte it spells."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


class TokenText:
    """Token ids to (text, bytes), remembered per id, from a ``tokenizers.Tokenizer`` (a Hugging Face fast
    tokenizer's ``backend_tokenizer``, or an export's tokenizer.json read without transformers)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.byte_level = type(tokenizer.decoder).__name__ == "ByteLevel"
        self.special = {t.content for t in tokenizer.get_added_tokens_decoder().values() if t.special}
        self.known: dict[int, tuple[str, tuple[int, ...] | None]] = {}

    def __call__(self, token: int) -> tuple[str, tuple[int, ...] | None]:
        """The token's text and bytes."""
        if token not in self.known:
            utf8 = self._bytes(token)
            text = bytes(utf8).decode("utf-8", errors="replace") if utf8 is not None else self._decoded(token)
            self.known[token] = (text, utf8)
        return self.known[token]

    def score(self, token: int, logprob: float, top: list[tuple[int, float]]) -> TokenScore:
        """A TokenScore for ``token`` and its likeliest alternatives."""
        return TokenScore(*self(token), logprob, tuple(TokenScore(*self(t), lp) for t, lp in top))

    def _decoded(self, token: int) -> str:
        return str(self.tokenizer.decode([token], skip_special_tokens=False))

    def _bytes(self, token: int) -> tuple[int, ...] | None:
        piece = self.tokenizer.id_to_token(token)
        if not isinstance(piece, str):
            return None
        if self.byte_level:
            table = _byte_of_char()
            if all(c in table for c in piece):
                return tuple(table[c] for c in piece)
        found = BYTE_FALLBACK.fullmatch(piece)
        if found:
            return (int(found[1], 16),)
        if "\u2581" in piece or piece in self.special:  # SentencePiece's ▁ is a space
            return tuple(piece.replace("\u2581", " ").encode())
        return tuple(self._decoded(token).encode())
