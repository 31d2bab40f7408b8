"""Several answers' next tokens read in one forward pass, each on its own KV cache (continuous batching).

The rows' tokens go into the model as one sequence, each at its own positions; the
layers' weights are read once for all of them, which is where a decoding step on a CPU
spends its time. Attention alone is per row: each row's new keys and values are
appended to its own DynamicCache and its queries attend to that cache, causally within
the new tokens, so no row is padded to another's length and a row's cache stays what a
row decoded alone would have made (vLLM's and llama.cpp's batches of sequences, without
paged memory). Models whose attention is the plain causal kind over a whole cache are
packed; a sliding window or attention soft-capping is not (``packable``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

#: The attention implementation a packable model is switched to: per-row attention while a packed pass runs on
#: the calling thread, transformers' SDPA otherwise.
IMPLEMENTATION = "latentstack_packed"

_packing = threading.local()  # the PackedCache of the pass this thread is running, if any

Row = tuple[Any, Sequence[int], int]  # a row's DynamicCache, its new token ids, how many last positions' logits


class PackedCache:
    """The model's ``cache`` for a packed pass: each layer's new keys and values split by row and appended to the
    rows' own caches, whose whole keys and values the attention then reads."""

    def __init__(self, caches: Sequence[Any], sizes: list[int]) -> None:
        self.caches, self.sizes = caches, sizes
        self.layers: dict[int, list[tuple[Any, Any]]] = {}

    def update(self, key: Any, value: Any, layer_idx: int, *_: Any, **__: Any) -> tuple[Any, Any]:
        rows = zip(self.caches, key.split(self.sizes, dim=2), value.split(self.sizes, dim=2), strict=True)
        self.layers[layer_idx] = [cache.update(k, v, layer_idx) for cache, k, v in rows]
        return key, value


def packed_attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any, **kwargs: Any) -> Any:
    """transformers' attention interface: per row within a packed pass, SDPA otherwise."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    packed = getattr(_packing, "cache", None)
    if packed is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    out = []
    for q, (k, v) in zip(query.split(packed.sizes, dim=2), packed.layers[module.layer_idx], strict=True):
        n, total = q.shape[2], k.shape[2]
        mask = None if n == 1 else torch.ones(n, total, dtype=torch.bool, device=q.device).tril(total - n)
        out.append(torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, scale=kwargs.get("scaling"), enable_gqa=k.shape[1] != q.shape[1]))
    return torch.cat(out, dim=2).transpose(1, 2).contiguous(), None


def packable(model: Any) -> bool:
    """Whether ``model``'s layers all attend causally over their whole cache, without soft-capping (what
    ``packed_attention`` computes)."""
    from transformers import DynamicCache

    from latentstack_llm.prefix_cache import croppable

    config = model.config.get_text_config()
    if getattr(config, "attn_logit_softcapping", None) or not getattr(config, "is_causal", True):
        return False
    return croppable(DynamicCache(config=model.config)) and model.config._attn_implementation in ("sdpa", IMPLEMENTATION)


def make_packable(model: Any) -> None:
    """Switch ``model`` to ``packed_attention`` (the same SDPA outside packed passes)."""
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import sdpa_mask

    AttentionInterface.register(IMPLEMENTATION, packed_attention)
    AttentionMaskInterface.register(IMPLEMENTATION, sdpa_mask)
    if model.config._attn_implementation != IMPLEMENTATION:
        model.set_attn_implementation(IMPLEMENTATION)


def packed_forward(model: Any, rows: Sequence[Row]) -> list[Any]:
    """Each row's last ``keep`` positions' logits after reading its tokens onto its cache, in one pass of ``model``
    (made packable)."""
    import torch

    sizes = [len(tokens) for _, tokens, _ in rows]
    device = model.device
    starts = [cache.get_seq_length() for cache, _, _ in rows]
    ids = torch.tensor([[t for _, tokens, _ in rows for t in tokens]], device=device)
    positions = torch.cat([torch.arange(s, s + n, device=device) for s, n in zip(starts, sizes, strict=True)])
    ends = torch.tensor(sizes).cumsum(0)
    kept = torch.cat([torch.arange(int(e) - keep, int(e)) for e, (_, _, keep) in zip(ends, rows, strict=True)])
    cache = PackedCache([c for c, _, _ in rows], sizes)
    _packing.cache = cache
    try:  # a 4-D mask is passed through as it is: packed_attention masks each row itself
        logits = model(input_ids=ids, position_ids=positions[None], attention_mask=torch.ones(1, 1, 1, 1, dtype=torch.bool),
                       cache=cache, use_cache=True, logits_to_keep=kept.to(device)).logits[0]
    finally:
        _packing.cache = None
    return list(logits.split([keep for _, _, keep in rows]))
