"""A decoder's hidden states, pooled, as an Embedder (features for ``linear``, vectors for an index)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import attrs
import numpy as np

from latentstack.hf import LocalModel
from latentstack.interfaces import Embedder, EmbedderConfig
from latentstack.runtime import AutoDtype
from latentstack_llm.loading import DTYPES, load_causal_lm


@attrs.frozen(kw_only=True)
class LlmEmbedConfig(EmbedderConfig):
    """Which decoder, how to pool its last hidden layer, and how much of each text to read."""

    model: str = "smollm2-135m-instruct"
    pooling: str = attrs.field(default="mean", validator=attrs.validators.in_(("mean", "last")))
    normalize: bool = True
    max_length: int = attrs.field(default=256, validator=attrs.validators.gt(1))
    #: "auto": bfloat16 where the CPU has bf16 units and a probe finds it exact and faster (latentstack.runtime).
    dtype: str = attrs.field(default="auto", validator=attrs.validators.in_(("auto", *DTYPES)))
    device: str = attrs.field(default="cpu", validator=attrs.validators.in_(("cpu", "cuda", "auto")))
    batch_size: int = attrs.field(default=16, validator=attrs.validators.gt(0))


class LlmEmbedder(AutoDtype, LocalModel, Embedder):
    """Mean (or last-token) pooled final hidden states of a causal LM, as float32 vectors.

    A decoder sees only earlier tokens, so the last token is the one that has read the
    whole text; the mean is the steadier feature for a linear head. Texts are sorted by
    token count before batching, padded on the right, and truncated at ``max_length`` tokens.
    An empty text embeds as the model's BOS token.
    """

    name = "llm"
    Config = LlmEmbedConfig
    config: LlmEmbedConfig

    @cached_property
    def tokenizer(self) -> Any:
        """The model's tokenizer, padding on the right."""
        from latentstack.hf import load_tokenizer

        tok = load_tokenizer(self.resolved.path)
        tok.padding_side = "right"
        return tok

    @cached_property
    def model(self) -> Any:
        """The decoder stack without its LM head, in the dtype ``runtime`` chose."""
        lm = load_causal_lm(self.resolved.path, self.runtime.dtype, self.torch_device)
        return lm.get_decoder()

    @cached_property
    def dim(self) -> int:
        """The decoder's hidden size."""
        return int(self.model_config.hidden_size)

    def fingerprint(self) -> str:
        """Model files plus every option that changes the vectors."""
        c = self.config
        return f"llm:{self.resolved.fingerprint()}:{c.pooling}:{c.normalize}:{c.max_length}"

    def token_ids(self, texts: Sequence[str], max_length: int | None = None) -> list[list[int]]:
        """Each text's token ids after the BOS token, truncated at ``max_length`` (the config's by default)."""
        if not texts:
            return []
        bos = self.tokenizer.bos_token or ""
        return self.tokenizer([bos + t for t in texts], truncation=True, max_length=max_length or self.config.max_length,
                              add_special_tokens=False)["input_ids"]

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Each text's tokens after the BOS token, up to ``max_length``."""
        return [len(row) for row in self.token_ids(texts)]

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many texts, after the BOS token, have more than ``max_length`` tokens."""
        from latentstack.batching import count_cut

        return count_cut(self.token_ids(texts, self.config.max_length + 1), self.config.max_length)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in batches sorted by token count; rows return in input order."""
        import torch

        from latentstack.batching import embed_by_length, padded
        from latentstack.pooling import pool

        def encode(batch_ids: list[list[int]]) -> np.ndarray:
            arrays = padded(self.tokenizer, batch_ids, ("input_ids", "attention_mask"))
            batch = {k: torch.from_numpy(v).to(self.model.device) for k, v in arrays.items()}
            hidden = self.model(**batch).last_hidden_state
            vecs = pool(hidden, batch["attention_mask"], self.config.pooling).float()
            if self.config.normalize:
                vecs = torch.nn.functional.normalize(vecs, dim=-1)
            return vecs.cpu().numpy()

        with torch.inference_mode():
            return embed_by_length(self.token_ids(texts), self.config.batch_size, self.dim, encode,
                                   show=self.config.show_progress)
