"""A conversation with a generator: the messages so far, sent again with each new one, the oldest exchanges
dropped from what is sent when they no longer fit the model's context window (the transcript keeps them)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from latentstack.answer_timing import TimedAnswer
from latentstack.progress import log

if TYPE_CHECKING:
    from latentstack.interfaces import GenerationConfig, Generator


class Conversation:
    """The history of one chat; ``turn`` answers a message in the light of it."""

    def __init__(self, generator: Generator, options: GenerationConfig | Mapping[str, Any] | None = None,
                 system: str = "") -> None:
        from latentstack.interfaces.generator import as_options

        self.generator, self.options = generator, as_options(options)
        self.system = [{"role": "system", "content": system}] if system else []
        self.history: list[dict[str, str]] = []  # the exchanges each new message is sent with
        self.transcript: list[dict[str, str]] = []  # every exchange since the start or the last reset
        self.timing: TimedAnswer | None = None  # the last answer's, once it is whole
        self.prompt: list[dict[str, str]] = []  # what the last answer was asked with

    def resume(self, messages: list[dict[str, str]]) -> None:
        """Go on from earlier exchanges (a saved conversation, without its system message)."""
        self.history, self.transcript = list(messages), list(messages)

    def reset(self) -> None:
        """Forget every exchange (the system message stays)."""
        self.history, self.transcript = [], []

    def turn(self, message: str) -> Iterator[str]:
        """The answer to ``message``, piece by piece; the exchange joins the history once the answer is whole
        (an answer broken off, or refused, leaves the history as it was)."""
        self._fit(message)
        pieces = []
        self.prompt, self.timing = [*self.system, *self.history, {"role": "user", "content": message}], None
        timed = TimedAnswer(self.generator.stream_answer(self.prompt, self.options))
        for piece in timed:
            if piece:
                pieces.append(piece)
                yield piece
        self.timing = timed
        exchange = [{"role": "user", "content": message}, {"role": "assistant", "content": "".join(pieces)}]
        self.history += exchange
        self.transcript += exchange

    def _fit(self, message: str) -> None:
        """Drop the oldest exchanges until the next prompt and its answer fit the context window, if it is known;
        a message that would not fit without any history drops nothing (the generator refuses it)."""
        window = self.generator.context_window
        if window is None:
            return
        keep = self.history
        while keep and not self._fits(keep, message, window):
            keep = keep[2:]  # a kept history that is not empty fits: the loop just counted it
        if len(keep) == len(self.history) or (not keep and not self._fits(keep, message, window)):
            return
        log(f"the conversation outgrew the model's context window of {window} tokens: dropped its oldest "
            f"{(len(self.history) - len(keep)) // 2} exchange(s)")
        self.history = keep

    def _fits(self, history: list[dict[str, str]], message: str, window: int) -> bool:
        """Whether the prompt of ``history`` and ``message``, with room for the answer, fits ``window`` tokens."""
        prompt = [*self.system, *history, {"role": "user", "content": message}]
        return self.generator.count_prompt_tokens(prompt) + self.options.max_new_tokens <= window
