"""The last answer's decoding state, kept for the next prompt that starts the same way (llama.cpp's
``cache_prompt``, vLLM's prefix caching, Ollama's kept conversation).

A chat's next turn repeats the whole conversation before its new message, and a question
asked again of the same passages repeats them: those tokens' keys and values are the ones
the last answer computed, so a generator that keeps its KV cache reads only the tokens after
the shared beginning. One slot (the last answer's), taken while an answer is decoded so two
never share it; each generator says how its cache is cut back and when it is worth using.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

State = TypeVar("State")


def shared_length(held: Sequence[int], ids: Sequence[int]) -> int:
    """How many tokens ``held`` and ``ids`` share from the start."""
    n = 0
    for a, b in zip(held, ids, strict=False):
        if a != b:
            break
        n += 1
    return n


class KeptPrefix(Generic[State]):
    """The last answer's state (a KV cache) with the token ids it holds, under the ``key`` of the weights that
    computed it (the active adapter, the export)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slot: tuple[str, list[int], State] | None = None

    def take(self, key: str, ids: Sequence[int]) -> tuple[State, int] | None:
        """The kept state, taken out of the slot, and how many of ``ids`` it holds from the start: one token short
        of all of them at most (the answer starts from the last one's logits); None when none is kept under
        ``key`` or it holds none of them."""
        with self._lock:
            slot, self._slot = self._slot, None
        if slot is None or slot[0] != key:
            return None
        n = min(shared_length(slot[1], ids), len(ids) - 1)
        return (slot[2], n) if n > 0 else None

    def keep(self, key: str, held: Sequence[int], state: State) -> None:
        """Keep ``state`` for the next answer; ``held`` are the token ids it holds."""
        with self._lock:
            self._slot = (key, list(held), state)

    def clear(self) -> None:
        """Forget the kept state (its memory freed)."""
        with self._lock:
            self._slot = None


def read_into(steps: Iterable[tuple[int, Any]], read: list[int]) -> Iterator[tuple[int, Any]]:
    """A decode loop's (token, logits) ``steps``, each token added to ``read`` (the prompt's ids and the answer's so
    far: what the kept state will hold)."""
    for token, logits in steps:
        read.append(token)
        yield token, logits
