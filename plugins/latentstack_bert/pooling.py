"""Pooling token states into one vector per text."""

from __future__ import annotations

from typing import Any


def pool(hidden: Any, mask: Any, how: str) -> Any:
    """``cls``: the first token's state (BERT's [CLS]); ``mean``: masked mean over real tokens."""
    if how == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
