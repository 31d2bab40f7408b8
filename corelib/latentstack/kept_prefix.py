"""The last answer's decoding state, kept for the next prompt that starts the same way (llama.cpp's
``cache_prompt``, vLLM's prefix caching, Ollama's kept conversation).

A chat's next turn repeats the whole conversation before its new message, and a question
asked again of the same passages repeats them: those tokens' keys and values are the ones
the last answer computed, so a generator that keeps its KV cache reads only the tokens after
the shared beginning. A few slots (the last answers', one by default), each taken while an
answer is decoded so two never share it, the older ones within a memory budget (llama.cpp's
``--cache-ram``); each generator says how its cache is cut back, what it weighs and when it
is worth using.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import attrs

State = TypeVar("State")
Item = TypeVar("Item")

#: The least share of a prompt a kept state must hold to be used. One that holds less (the chat template's opening
#: alone) is left to the chat it holds, where several are kept, and its prompt read afresh; torch reads tokens after
#: kept ones through an explicit attention mask, slower a token than a fresh causal reading
#: (benchmarks/results/prefix-cache), so a short shared beginning would cost it more than it saves.
MIN_SHARE = 1 / 3

#: Kept states a server's generator keeps unless told (``serve --http``): its users' chats interleave, and one kept
#: state would hold only the last user's, so each next turn would read its whole conversation again (llama.cpp's
#: server keeps four slots' caches by default; benchmarks/results/server-users).
SERVER_SLOTS = 4

#: The memory, in MiB, that the kept states may take together by default. The last answer's is kept whatever it
#: weighs (its memory was in use while it was decoded); the older ones, kept where ``prefix_cache`` is above 1, are
#: dropped least recently kept first until the whole is within the budget, so a server keeping many chats' caches
#: does not grow without bound. A bound, not a measured optimum: raise it for long chats on a larger model.
BUDGET_MB = 2048

_MEANING = {"prefix_cache": "how many answers' KV caches are kept for prompts that begin the same way: a whole "
                            "number, 0 for none",
            "prefix_cache_mb": "the MiB the kept KV caches may take together (the last answer's is kept whatever "
                               "it weighs): a whole number, 0 to keep only the last answer's"}


def _at_least_zero(_: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        msg = f"{attribute.name} is {_MEANING[attribute.name]}, got {value!r:.40}"
        raise ValueError(msg)


def slots_option() -> Any:
    """A generator config's ``prefix_cache`` field: how many answers' KV caches are kept (1, the last answer's, by
    default; 0: none)."""
    return attrs.field(default=1, validator=_at_least_zero)


def budget_option() -> Any:
    """A generator config's ``prefix_cache_mb`` field: the MiB the kept KV caches may take together, the last
    answer's kept whatever it weighs (``BUDGET_MB`` by default)."""
    return attrs.field(default=BUDGET_MB, validator=_at_least_zero)


def shared_length(held: Sequence[int], ids: Sequence[int]) -> int:
    """How many tokens ``held`` and ``ids`` share from the start."""
    n = 0
    for a, b in zip(held, ids, strict=False):
        if a != b:
            break
        n += 1
    return n


@attrs.define
class _Kept(Generic[State]):
    key: str
    held: list[int]
    state: State
    size: int


class KeptPrefix(Generic[State]):
    """The last ``slots`` answers' states (KV caches), each with the token ids it holds, under the ``key`` of the
    weights that computed it (the active adapter, the export); the least recently kept goes first, and goes while
    the states together weigh more than ``budget_mb`` MiB (the last answer's always stays)."""

    def __init__(self, slots: int = 1, budget_mb: int = BUDGET_MB) -> None:
        self.slots = slots
        self.budget = budget_mb * 2**20
        self._lock = threading.Lock()
        self._kept: list[_Kept[State]] = []  # the most recently kept first

    def size(self, state: State) -> int:
        """The bytes ``state`` holds (0 unless a generator says)."""
        return 0

    @property
    def held_bytes(self) -> int:
        """The bytes the kept states hold together."""
        with self._lock:
            return sum(kept.size for kept in self._kept)

    def take(self, key: str, ids: Sequence[int],
             usable: Callable[[State, int], bool] = lambda state, n: True) -> tuple[State, int] | None:
        """The kept state that holds the most of ``ids`` from the start (one token short of all of them at most: the
        answer starts from the last one's logits), at least ``MIN_SHARE`` of them, and is ``usable`` with that many,
        taken out, and that many; None when none is, the least recently kept then dropped if every slot is full (the
        new answer's goes there).

        A state that holds more past the shared beginning than in it is left alone where it would outlive a fresh
        reading: it is another conversation's (two chats sharing a model's default system prompt, their first
        messages short), and taking it would cut that conversation's next turn back to the system prompt to save
        reading a few tokens."""
        with self._lock:
            shares = [(min(shared_length(kept.held, ids), len(ids) - 1) if kept.key == key else 0, i)
                      for i, kept in enumerate(self._kept)]
            least = max(1.0, MIN_SHARE * len(ids))
            found = [(n, i) for n, i in shares
                     if n >= least and not self._another_chats(i, n) and usable(self._kept[i].state, n)]
            if not found:
                del self._kept[max(self.slots - 1, 0):]
                return None
            n, i = max(found, key=lambda f: (f[0], -f[1]))
            return self._kept.pop(i).state, n

    def _another_chats(self, i: int, n: int) -> bool:
        """Whether the ``i``-th kept state, sharing ``n`` tokens, holds more past them than in them and would
        outlive an answer that reads afresh (one in the last slot is dropped then)."""
        return i < self.slots - 1 and len(self._kept[i].held) - n > n

    def keep(self, key: str, held: Sequence[int], state: State) -> None:
        """Keep ``state`` for the next answers, the least recently kept dropped while there are more than ``slots`` or
        they weigh more than the budget together; ``held`` are the token ids it holds."""
        size = self.size(state)
        with self._lock:
            self._kept.insert(0, _Kept(key, list(held), state, size))
            del self._kept[self.slots:]
            while len(self._kept) > 1 and sum(kept.size for kept in self._kept) > self.budget:
                self._kept.pop()

    def clear(self) -> None:
        """Forget every kept state (their memory freed)."""
        with self._lock:
            self._kept = []


def read_into(steps: Iterable[tuple[int, Any]], read: list[int]) -> Iterator[tuple[int, Any]]:
    """A decode loop's (token, logits) ``steps``, each token added to ``read`` (the prompt's ids and the answer's so
    far: what the kept state will hold)."""
    for token, logits in steps:
        read.append(token)
        yield token, logits


def kept_after(pieces: Iterable[Item], keep: Callable[[], None] | None) -> Iterator[Item]:
    """``pieces``, then ``keep()`` (the decoding state kept for the next answer) once they ran out or were closed
    between two of them, not after an error, which may have cut a step's state in half; ``keep`` None keeps nothing."""
    whole = False
    try:
        yield from pieces
        whole = True
    except GeneratorExit:  # closed at a piece: between tokens
        whole = True
        raise
    finally:
        if whole and keep is not None:
            keep()
