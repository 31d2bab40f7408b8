"""The torch module that is exported: encoder + pooling (+ projection) + normalisation, one vector per text."""

from __future__ import annotations

from typing import Any


def pooled_module(encoder: Any, pooling: str, normalize: bool, head: Any = None) -> Any:
    """Wrap a BERT-family encoder so its forward returns pooled (projected by ``head``, and normalised) vectors."""
    import torch

    from latentstack.pooling import pool

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = head

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state
            vecs = pool(hidden, attention_mask, pooling)
            if self.head is not None:
                vecs = self.head(vecs)
            return torch.nn.functional.normalize(vecs, dim=-1) if normalize else vecs

    return Pooled().eval()
