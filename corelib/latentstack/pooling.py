"""Pooling token states into one vector per text (torch tensors in, torch tensors out; no torch import here)."""

from __future__ import annotations

from typing import Any


def pool(hidden: Any, mask: Any, how: str) -> Any:
    """``cls``: the first token's state (BERT's [CLS]); ``mean``: masked mean over real tokens;
    ``last``: the state of the last real token (right padding; a decoder's whole-text state)."""
    if how == "cls":
        return hidden[:, 0]
    if how == "last":
        last = mask.sum(dim=1).clamp(min=1) - 1
        return hidden[range(hidden.shape[0]), last]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
