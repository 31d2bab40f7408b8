"""How an answer was read and written, timed as it streams: the line ``-v`` shows after it (what ``ollama run
--verbose`` reports)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from latentstack.interfaces.generator import Finish, Generator, Messages, ScoredPiece


class TimedAnswer:
    """The texts of ``stream_answer``'s pieces, in order; once they have run out, how the answer ended
    (``finish``), the seconds to its first piece and in all."""

    def __init__(self, pieces: Iterable[ScoredPiece]) -> None:
        self.pieces = pieces
        self.finish: Finish | None = None
        self.first_s: float | None = None
        self.total_s = 0.0

    def __iter__(self) -> Iterator[str]:
        start = time.perf_counter()
        for piece in self.pieces:
            if self.first_s is None and (piece.text or piece.finish is not None):
                self.first_s = time.perf_counter() - start
            if piece.finish is not None:
                self.finish = piece.finish
            yield piece.text
        self.total_s = time.perf_counter() - start

    def line(self, prompt_tokens: int | None) -> str:
        """'prompt: N tokens (K kept from the last answer), first piece after S s; answer: M tokens in T s, R tokens/s
        after the first' (the prompt's part where ``prompt_tokens`` is known)."""
        parts = []
        if prompt_tokens is not None:
            cached = self.finish.cached if self.finish is not None else 0
            kept = f" ({cached} kept from the last answer)" if cached else ""
            parts.append(f"prompt: {prompt_tokens} tokens{kept}, first piece after {self.first_s or 0.0:.2f} s")
        if self.finish is not None:
            used, after = self.finish.tokens, self.total_s - (self.first_s or 0.0)
            rate = f", {(used - 1) / after:.1f} tokens/s after the first" if used > 1 and after > 0 else ""
            parts.append(f"answer: {used} tokens in {self.total_s:.2f} s{rate}")
        return "; ".join(parts)


def exact_prompt_tokens(generator: Generator, prompt: str | Messages) -> int | None:
    """The tokens ``generator`` reads for ``prompt`` where it counts them with its tokenizer (None where it would
    estimate: the Generator's default)."""
    from latentstack.interfaces.generator import Generator

    if type(generator).count_prompt_tokens is Generator.count_prompt_tokens:
        return None
    return generator.count_prompt_tokens(prompt)
