"""Tiny random models for fast plumbing tests (never for quality claims)."""

from __future__ import annotations

import string
from pathlib import Path


def save_tiny_bert(path: Path, seed: int = 0) -> Path:
    """Save a 2-layer, 32-d random BertModel and a word-piece tokenizer into ``path``."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = "the a cat dog sat on mat free prize win call now hello world stock market fell".split()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.ascii_lowercase, *string.digits,
             *string.punctuation, *words, *(f"##{c}" for c in string.ascii_lowercase + string.digits)]
    path.mkdir(parents=True, exist_ok=True)
    ids = {tok: i for i, tok in enumerate(dict.fromkeys(vocab))}
    BertTokenizerFast(vocab=ids, do_lower_case=True).save_pretrained(path)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(ids), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                        initializer_range=0.3)
    BertModel(config).save_pretrained(path)
    return path
