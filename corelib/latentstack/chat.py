"""A conversation with a generator: the messages so far, sent again with each new one, the oldest exchanges
dropped when they no longer fit the model's context window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from latentstack.progress import log

if TYPE_CHECKING:
    from latentstack.interfaces import GenerationConfig, Generator


class Conversation:
    """The history of one chat; ``turn`` answers a message in the light of it."""

    def __init__(self, generator: Generator, options: GenerationConfig, system: str = "") -> None:
        self.generator, self.options = generator, options
        self.system = [{"role": "system", "content": system}] if system else []
        self.history: list[dict[str, str]] = []

    def reset(self) -> None:
        """Forget every exchange (the system message stays)."""
        self.history = []

    def turn(self, message: str) -> Iterator[str]:
        """The answer to ``message``, piece by piece; the exchange joins the history once the answer is whole
        (an answer broken off, or refused, leaves the history as it was)."""
        self._fit(message)
        pieces = []
        for piece in self.generator.stream([*self.system, *self.history, {"role": "user", "content": message}],
                                           self.options):
            pieces.append(piece)
            yield piece
        self.history += [{"role": "user", "content": message}, {"role": "assistant", "content": "".join(pieces)}]

    def _fit(self, message: str) -> None:
        """Drop the oldest exchanges until the next prompt and its answer fit the context window, if it is known."""
        window = self.generator.context_window
        if window is None:
            return
        dropped = 0
        while self.history and self._tokens(message) + self.options.max_new_tokens > window:
            self.history = self.history[2:]
            dropped += 1
        if dropped:
            log(f"the conversation outgrew the model's context window of {window} tokens: dropped its oldest "
                f"{dropped} exchange(s)")

    def _tokens(self, message: str) -> int:
        return self.generator.count_prompt_tokens([*self.system, *self.history, {"role": "user", "content": message}])
