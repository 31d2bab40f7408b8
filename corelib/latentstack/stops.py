"""Cutting a stream of text at the first stop string, without ever showing part of one."""

from __future__ import annotations

from collections.abc import Sequence


class StopTrimmer:
    """Feed text pieces as they arrive; get back what is safe to show.

    Text that could still turn into a stop string is held back until it cannot;
    once a stop string appears, everything from it on is dropped and ``stopped``
    becomes True.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.pending = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        """Add a piece; return the text that can be shown now."""
        if self.stopped:
            return ""
        self.pending += piece
        cut = min((i for i in (self.pending.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            out, self.pending = self.pending[:cut], ""
            return out
        hold = max((self._partial(s) for s in self.stops), default=0)
        out = self.pending[: len(self.pending) - hold]
        self.pending = self.pending[len(out):]
        return out

    def _partial(self, stop: str) -> int:
        """Length of the longest end of ``pending`` that begins ``stop``."""
        for n in range(min(len(stop) - 1, len(self.pending)), 0, -1):
            if self.pending.endswith(stop[:n]):
                return n
        return 0

    def flush(self) -> str:
        """The held-back text at the end of the stream (it never became a stop string)."""
        out, self.pending = ("" if self.stopped else self.pending), ""
        return out
