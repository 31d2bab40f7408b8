"""The KV cache of the last answer, kept for the next prompt that starts the same way (llama.cpp's ``cache_prompt``,
vLLM's prefix caching, Ollama's kept conversation).

A chat's next turn repeats the whole conversation before its new message, and a question
asked again of the same passages repeats them: those tokens' keys and values are the ones
the last answer computed, so only the tokens after the shared beginning are read again.
One slot (the last answer's), taken while an answer is decoded so two never share it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

#: The least share of a prompt a kept cache must hold to be used: tokens read after kept ones go through an
#: explicit attention mask rather than the causal fast path and cost more each (benchmarks/results/prefix-cache), so
#: a short shared beginning, such as the chat template's opening alone, is read afresh with the rest.
MIN_SHARE = 1 / 3


def shared_length(held: Sequence[int], ids: Sequence[int]) -> int:
    """How many tokens ``held`` and ``ids`` share from the start."""
    n = 0
    for a, b in zip(held, ids, strict=False):
        if a != b:
            break
        n += 1
    return n


def croppable(cache: Any) -> bool:
    """Whether every layer of ``cache`` keeps all its positions and can drop the last ones (a sliding window's layer
    may have dropped the first, a recurrent one keeps a state rather than positions)."""
    from transformers.cache_utils import DynamicLayer

    return all(type(layer) is DynamicLayer for layer in cache.layers)


class PrefixCache:
    """The last answer's KV cache and the token ids it holds, under the ``key`` of the weights that computed it (the
    active adapter)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slot: tuple[str, list[int], Any] | None = None

    def take(self, key: str, ids: Sequence[int], config: Any) -> tuple[Any, int]:
        """A KV cache holding the first ``n`` of ``ids`` and ``n``: the kept one cut to the tokens it shares with
        ``ids`` (one token short of all of them, whose logits the answer starts from), or a new one and 0 where they
        share less than ``MIN_SHARE`` of ``ids``."""
        from transformers import DynamicCache

        with self._lock:
            slot, self._slot = self._slot, None
        if slot is None or slot[0] != key:
            return DynamicCache(config=config), 0
        _, held, cache = slot
        n = min(shared_length(held, ids), len(ids) - 1)
        if n <= 0 or n < MIN_SHARE * len(ids):
            return DynamicCache(config=config), 0
        cache.crop(n - cache.get_seq_length())
        return cache, n

    def keep(self, key: str, ids: Sequence[int], cache: Any) -> None:
        """Keep ``cache`` for the next answer; ``ids`` are the tokens read so far (it holds as many of them as it has
        positions)."""
        if not croppable(cache):
            return
        held = list(ids[:cache.get_seq_length()])
        with self._lock:
            self._slot = (key, held, cache)

    def clear(self) -> None:
        """Forget the kept cache (its memory freed)."""
        with self._lock:
            self._slot = None
