"""The llm generator's kept KV cache (``latentstack.kept_prefix``): transformers' DynamicCache, cut back to the
tokens a new prompt shares with the last prompt and answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from latentstack.kept_prefix import KeptPrefix


def croppable(cache: Any) -> bool:
    """Whether every layer of ``cache`` keeps all its positions and can drop the last ones (a sliding window's layer
    may have dropped the first, a recurrent one keeps a state rather than positions)."""
    from transformers.cache_utils import DynamicLayer

    return all(type(layer) is DynamicLayer for layer in cache.layers)


class PrefixCache(KeptPrefix[Any]):
    """The last answers' DynamicCaches and the token ids each holds."""

    def size(self, state: Any) -> int:
        """The bytes of the keys' and values' storage (a cropped layer's view holds its whole storage)."""
        return sum(int(t.untyped_storage().nbytes()) for layer in state.layers if layer.is_initialized
                   for t in (layer.keys, layer.values))

    def take_cache(self, key: str, ids: Sequence[int], config: Any) -> tuple[Any, int]:
        """A KV cache holding the first ``n`` of ``ids`` and ``n``: the kept one cut to the tokens it shares with
        ``ids``, or a new one and 0 where none shares enough (``KeptPrefix.take``)."""
        from transformers import DynamicCache

        kept = self.take(key, ids)
        if kept is None:
            return DynamicCache(config=config), 0
        cache, n = kept
        cache.crop(n - cache.get_seq_length())
        return cache, n

    def keep_cache(self, key: str, ids: Sequence[int], cache: Any) -> None:
        """Keep ``cache`` for the next answer; ``ids`` are the tokens read so far (it holds as many of them as it has
        positions)."""
        if croppable(cache):
            self.keep(key, ids[:cache.get_seq_length()], cache)
