"""An encoder with a linear head on the masked mean of its token states (at unit length, for a probed head).

Sentence encoders such as MiniLM were trained to be read by mean pooling, and frozen
mean features beat [CLS] features on spam F1 (docs/classification.md); transformers' sequence
classification head reads [CLS] through BERT's pooler, which LoRA leaves frozen. With this
head, LoRA goes on the plain encoder, so the adapter the classifier saves is an ordinary
encoder adapter: ``--embedder bert --adapter CLF/adapter`` and
``latentstack export onnx --adapter CLF/adapter`` take it as it is.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch

from latentstack.pooling import pool


class MeanPoolClassifier(torch.nn.Module):
    """``encoder`` (an AutoModel, bare or wrapped by PEFT) -> masked mean (-> unit length) -> dropout -> linear."""

    def __init__(self, encoder: Any, hidden: int, n_classes: int, dropout: float = 0.1, unit: bool = False) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(hidden, n_classes)
        self.unit = unit

    def features(self, input_ids: Any, attention_mask: Any, **extra: Any) -> Any:
        """What the head reads: the masked mean of the token states, scaled to unit length where ``unit`` (the
        sentence encoder's own vectors, as a head on frozen features reads them)."""
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        mean = pool(states, attention_mask, "mean")
        return torch.nn.functional.normalize(mean, dim=-1) if self.unit else mean

    def forward(self, input_ids: Any, attention_mask: Any, labels: Any = None, **extra: Any) -> SimpleNamespace:
        """``.logits`` (batch x classes) and, given labels, the cross-entropy ``.loss`` (binary, of each label,
        where ``labels`` is a batch x classes 0/1 array: several labels per text)."""
        logits = self.head(self.dropout(self.features(input_ids, attention_mask, **extra)))
        if labels is None:
            return SimpleNamespace(logits=logits, loss=None)
        if labels.ndim == 2:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), labels.float())
        else:
            loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        return SimpleNamespace(logits=logits, loss=loss)

    def head_state(self) -> dict[str, Any]:
        """The head's weights, for saving beside the adapter."""
        return {f"head.{k}": v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()}
