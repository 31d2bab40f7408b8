"""Answers decoded on several threads at once, their forward passes run together (``packed``).

Each answer's thread joins as a row (``row``; up to ``rows`` threads at once) and asks for its passes through
``forward`` as it would ask the model. A pass waits until every joined thread has asked for its own, or
until the first of them has waited ``grace_s`` (a row busy elsewhere, its reader slow),
then one of the waiting threads runs them all in one packed pass while the others wait
for their rows' logits. A row that joins later is read with the others from its next
pass on: its prompt in the same passes as the others' next tokens.

A thread can hold several rows (streams read in turn on one thread, ``zip`` over ``stream_answers``): it asks for
one pass at a time, so the batcher counts threads, not rows; its further rows join at once, as waiting for a turn
behind its own rows, which only it reads on, would wait forever.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs

from latentstack_llm.packed import packed_forward

#: The most prompt tokens of one row a pass reads (llama.cpp's default micro-batch): a new answer's long prompt is
#: read over several passes, the other rows' next tokens read in each, so their answers do not stall for all of it.
PROMPT_PART = 512


@attrs.define
class _Pass:
    cache: Any
    tokens: Sequence[int]
    keep: int
    logits: Any = None
    error: BaseException | None = None

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.logits


class StepBatcher:
    """One model's forward passes, asked for on several threads, run in packs (``model()``: the model as it runs
    now)."""

    def __init__(self, model: Callable[[], Any], rows: int, grace_s: float = 0.01) -> None:
        self.model, self.rows, self.grace_s = model, rows, grace_s  # the model as it runs now (an adapter on it)
        self.cond = threading.Condition()
        self.holders: Counter[int] = Counter()  # the threads decoding now, and how many rows each
        self.tickets = self.admitted = 0  # rows that asked to join and were let in, in turn
        self.waiting: list[_Pass] = []
        self.first_at = 0.0  # when the oldest waiting pass was asked for
        self.running = False
        self.widest = 0  # the most rows read in one pass

    @contextmanager
    def row(self) -> Iterator[None]:
        """Count the calling thread as one whose passes the others wait for, until the block ends; while ``rows``
        threads decode, a new one waits its turn (in the order they asked). A thread that holds a row joins again
        at once."""
        me = threading.get_ident()
        with self.cond:
            if not self.holders[me]:
                ticket, self.tickets = self.tickets, self.tickets + 1
                while ticket != self.admitted or len(self.holders) >= self.rows:
                    self.cond.wait()
                self.admitted += 1
            self.holders[me] += 1
            self.cond.notify_all()
        try:
            yield
        finally:
            with self.cond:
                self.holders[me] -= 1
                if not self.holders[me]:
                    del self.holders[me]
                self.cond.notify_all()

    def forward(self, cache: Any, tokens: Sequence[int], keep: int) -> Any:
        """The last ``keep`` positions' logits after reading ``tokens`` onto ``cache``, read with the other rows'; a
        long prompt in parts of ``PROMPT_PART`` tokens, one a pass, while other threads decode (alone, whole: there
        is no one to hold up, and one pass reads it faster)."""
        while len(tokens) - PROMPT_PART >= max(keep, 1) and len(self.holders) > 1:
            self._pass(cache, tokens[:PROMPT_PART], 1)
            tokens = tokens[PROMPT_PART:]
        return self._pass(cache, tokens, keep)

    def _pass(self, cache: Any, tokens: Sequence[int], keep: int) -> Any:
        asked = _Pass(cache, tokens, keep)
        with self.cond:
            if not self.waiting:
                self.first_at = time.monotonic()
            self.waiting.append(asked)
            self.cond.notify_all()
            while asked.logits is None and asked.error is None:
                if not self.running and self._due():
                    pack, self.waiting, self.running = self.waiting, [], True
                    break
                self.cond.wait(self.grace_s / 4)
            else:
                return asked.result()
        self._run(pack)
        return asked.result()

    def _due(self) -> bool:
        return len(self.waiting) >= len(self.holders) or time.monotonic() - self.first_at >= self.grace_s

    def _run(self, pack: list[_Pass]) -> None:
        self.widest = max(self.widest, len(pack))
        try:
            for asked, logits in zip(pack, packed_forward(self.model(), [(p.cache, p.tokens, p.keep) for p in pack]),
                                     strict=True):
                asked.logits = logits
        except BaseException as exc:  # every row of the pack hears of it
            for asked in pack:
                asked.error = exc
        finally:
            with self.cond:
                self.running = False
                if self.waiting:
                    self.first_at = time.monotonic()
                self.cond.notify_all()
