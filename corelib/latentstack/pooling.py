"""Pooling token states into one vector per text (torch tensors in, torch tensors out; no torch import here)."""

from __future__ import annotations

from typing import Any

#: The poolings ``pool`` computes, as the command line offers them.
POOLINGS = ("mean", "cls", "max", "last", "weightedmean", "mean_sqrt_len")


def pool(hidden: Any, mask: Any, how: str) -> Any:
    """``cls``: the first token's state (BERT's [CLS]); ``mean``: masked mean over real tokens;
    ``max``: each dimension's largest value over real tokens; ``last``: the state of the last real
    token (right padding; a decoder's whole-text state); ``weightedmean``: the mean weighted by
    position, 1 for the first real token (SGPT's); ``mean_sqrt_len``: the sum over real tokens
    divided by the root of their number (sentence-transformers' ``mean_sqrt_len_tokens``)."""
    if how == "cls":
        return hidden[:, 0]
    if how == "max":
        return hidden.masked_fill(mask.unsqueeze(-1) == 0, float("-inf")).max(dim=1).values
    if how == "last":
        last = mask.sum(dim=1).clamp(min=1) - 1
        return hidden[range(hidden.shape[0]), last]
    if how not in POOLINGS:
        msg = f"unknown pooling {how!r}: {', '.join(POOLINGS)}"
        raise ValueError(msg)
    positions = mask.cumsum(dim=1) * mask if how == "weightedmean" else mask  # 1, 2, ... from the first real token
    weights = positions.unsqueeze(-1).to(hidden.dtype)
    total = weights.sum(dim=1).clamp(min=1e-9)
    return (hidden * weights).sum(dim=1) / (total.sqrt() if how == "mean_sqrt_len" else total)
