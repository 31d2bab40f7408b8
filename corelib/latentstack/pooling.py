"""Pooling token states into one vector per text (torch tensors in, torch tensors out; no torch import here)."""

from __future__ import annotations

from typing import Any


def pool(hidden: Any, mask: Any, how: str) -> Any:
    """``cls``: the first token's state (BERT's [CLS]); ``mean``: masked mean over real tokens;
    ``max``: each dimension's largest value over real tokens; ``last``: the state of the last real
    token (right padding; a decoder's whole-text state)."""
    if how == "cls":
        return hidden[:, 0]
    if how == "max":
        return hidden.masked_fill(mask.unsqueeze(-1) == 0, float("-inf")).max(dim=1).values
    if how == "last":
        last = mask.sum(dim=1).clamp(min=1) - 1
        return hidden[range(hidden.shape[0]), last]
    if how != "mean":
        msg = f"unknown pooling {how!r}: cls, mean, max or last"
        raise ValueError(msg)
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
