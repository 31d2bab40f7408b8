"""Scored tokens waiting for their text to be shown.

The answer's text reaches the caller later than its tokens: a character split over two
tokens waits for the second, and text that may begin a stop string waits until it is
known not to. Each token is kept with where its text ends in the decoded answer and handed
out with the piece that shows that far; the tokens of a stop string never are.
"""

from __future__ import annotations

from latentstack.interfaces.generator import TokenScore
from latentstack.token_text import TokenText


class Scored:
    """The tokens decoded but not yet handed out; ``top`` None scores nothing (a plain stream)."""

    def __init__(self, text: TokenText | None, top: int | None) -> None:
        self.text, self.top = text, top
        self.pending: list[tuple[int, TokenScore]] = []  # (where the token's text ends, its score)
        self.decoded = 0  # characters of the answer decoded
        self.shown = 0  # characters of it handed out

    def add(self, token: int, new_chars: int, logprob: float = 0.0, best: list[tuple[int, float]] | None = None) -> None:
        """Keep ``token`` (whose decoding added ``new_chars`` characters) with its log-probability and the likeliest
        (id, log-probability) at its place; nothing is kept unscored."""
        self.decoded += new_chars
        if self.top is not None and self.text is not None:
            self.pending.append((self.decoded, self.text.score(token, logprob, best or [])))

    def upto(self, shown: int | None) -> tuple[TokenScore, ...]:
        """The tokens whose text ends within the answer once ``shown`` more characters are out (None: all)."""
        if shown is not None:
            self.shown += shown
        ready = [s for end, s in self.pending if shown is None or end <= self.shown]
        self.pending = self.pending[len(ready):]
        return tuple(ready)
