"""Length-sorted batching and padding of token-id lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentstack.batching import embed_by_length, pad_ids, token_ids


def test_batches_follow_token_counts_not_characters() -> None:
    """Token-id lists are batched by their own length: a short text of many tokens goes with its peers."""
    items = [[1] * 3, [1] * 9, [1] * 2, [1] * 8, [1] * 7, [1] * 1]
    seen: list[list[int]] = []

    def encode(batch: list[list[int]]) -> np.ndarray:
        seen.append([len(b) for b in batch])
        return np.array([[len(b), 0.0] for b in batch], dtype=np.float32)

    out = embed_by_length(items, 2, 2, encode, show=False)
    assert seen == [[9, 8], [7, 3], [2, 1]]
    assert out[:, 0].tolist() == [3, 9, 2, 8, 7, 1]  # rows back in input order


def test_pad_ids_equals_the_tokenizers_own_padding(tiny_bert_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert_dir)
    texts = ["", "the cat", "a much longer text about the cat that sat on the mat " * 3, "cat"]
    ref = tok(texts, padding=True, truncation=True, max_length=12, return_tensors="np")
    ours = pad_ids(token_ids(tok, texts, 12), tok.pad_token_id)
    assert set(ours) == {"input_ids", "attention_mask", "token_type_ids"}
    for key in ours:
        assert ours[key].dtype == np.int64
        np.testing.assert_array_equal(ours[key], ref[key])
    tok.padding_side = "left"
    left = tok(texts, padding=True, truncation=True, max_length=12, return_tensors="np")
    np.testing.assert_array_equal(pad_ids(token_ids(tok, texts, 12), tok.pad_token_id, left=True)["input_ids"],
                                  left["input_ids"])


@pytest.mark.parametrize("pad_id", [0, 7, None])
def test_pad_ids_masks_the_padding(pad_id: int | None) -> None:
    batch = pad_ids([[5, 6, 7], [5]], pad_id)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [5, pad_id or 0, pad_id or 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
