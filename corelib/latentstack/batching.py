"""Embedding in length-sorted batches: little padding per batch, rows back in input order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np

from latentstack.progress import progress

Item = TypeVar("Item")


def embed_by_length(items: Sequence[Item], batch_size: int, dim: int, encode: Callable[[list[Item]], np.ndarray],
                    *, show: bool = True, desc: str = "embedding") -> np.ndarray:
    """Call ``encode`` on batches of items sorted longest first; return float32 rows in input order.

    Items are texts or, better, their token-id lists: sorted by token count, a batch pads far
    less than sorted by characters (docs/benchmarks.md, Embedding runtimes, has the figures).
    A progress bar appears when ``show`` and there are more than four batches.
    """
    out = np.zeros((len(items), dim), dtype=np.float32)
    if not items:
        return out
    order = np.argsort([-len(t) for t in items], kind="stable")  # type: ignore[arg-type]
    starts = range(0, len(items), batch_size)
    for start in progress(starts, desc=desc, total=len(starts), enabled=show and len(starts) > 4, unit="batch"):
        idx = order[start: start + batch_size]
        out[idx] = encode([items[i] for i in idx])
    return out


def token_ids(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Each text's token ids with special tokens, truncated to ``max_length``; tokenised once, padded per batch."""
    if not texts:  # fast tokenizers fail on an empty batch
        return []
    return tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]


def count_cut(ids: Sequence[Sequence[int]], max_length: int) -> int:
    """How many rows of ``ids``, token ids cut one token past ``max_length``, are longer than it: the texts whose
    ends ``token_ids`` would cut off at ``max_length``."""
    return sum(len(row) > max_length for row in ids)


def pad_ids(ids: Sequence[Sequence[int]], pad_id: int | None, left: bool = False) -> dict[str, np.ndarray]:
    """int64 ``input_ids``, ``attention_mask`` and (all zero, one segment) ``token_type_ids`` of one batch.

    The same arrays as the tokenizer's own ``padding=True``, without tokenising again.
    """
    width = max((len(row) for row in ids), default=0)
    input_ids = np.full((len(ids), width), pad_id or 0, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for i, row in enumerate(ids):
        span = slice(width - len(row), width) if left else slice(0, len(row))
        input_ids[i, span] = row
        mask[i, span] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}


def padded(tokenizer: Any, ids: Sequence[Sequence[int]], names: Iterable[str]) -> dict[str, np.ndarray]:
    """``pad_ids`` with the tokenizer's pad id and padding side, keeping only the inputs in ``names``."""
    keep = set(names)
    batch = pad_ids(ids, tokenizer.pad_token_id, left=tokenizer.padding_side == "left")
    return {k: v for k, v in batch.items() if k in keep}
