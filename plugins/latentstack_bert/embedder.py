"""A transformers encoder turned into an Embedder."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import attrs
import numpy as np

from latentstack.hf import LocalModel
from latentstack.interfaces import Embedder, EmbedderConfig
from latentstack.interfaces.embedder import EncoderSource
from latentstack.runtime import RuntimeChoice


@attrs.frozen(kw_only=True)
class BertConfig(EmbedderConfig):
    """Which encoder, how to pool, and how much of each text to read."""

    model: str = "minilm"
    pooling: str = attrs.field(default="mean", validator=attrs.validators.in_(("cls", "mean")))
    normalize: bool = True
    max_length: int = attrs.field(default=256, validator=attrs.validators.gt(1))
    #: "auto": bfloat16 where the CPU has bf16 units and a parity probe holds (latentstack.runtime), else float32.
    dtype: str = attrs.field(default="auto", validator=attrs.validators.in_(("auto", "float32", "bfloat16")))
    adapter: str = ""
    device: str = attrs.field(default="cpu", validator=attrs.validators.in_(("cpu", "cuda", "auto")))


class BertEmbedder(LocalModel, Embedder):
    """Encoder outputs pooled by [CLS] or masked mean, optionally L2-normalised.

    Texts are sorted by length before batching so that each batch pads little; the
    output rows come back in input order. Texts longer than ``max_length`` tokens are
    truncated (all-MiniLM-L6-v2 was trained on 256). Empty strings embed as [CLS][SEP].
    """

    name = "bert"
    Config = BertConfig
    config: BertConfig

    @cached_property
    def model(self) -> Any:
        """The encoder in eval mode (with its LoRA adapter merged, when one is configured)."""
        import torch
        from transformers import AutoModel

        from latentstack.hf import quiet_transformers

        quiet_transformers()
        model = AutoModel.from_pretrained(self.resolved.path, dtype=getattr(torch, self.runtime.dtype))
        if self.config.adapter:
            from latentstack import get_adapter

            lora = get_adapter("lora")
            model = lora.merge(lora.load(model, self.config.adapter, self.resolved.fingerprint()))
        return model.eval().to(self.torch_device)

    @cached_property
    def runtime(self) -> RuntimeChoice:
        """The dtype the encoder runs in: the one asked for, or for "auto" the one latentstack.runtime chooses."""
        from latentstack.progress import detail
        from latentstack.runtime import RuntimeChoice, choose_dtype

        if self.config.dtype != "auto":
            choice = RuntimeChoice(self.config.dtype, "asked for")
        elif self.torch_device != "cpu":
            choice = RuntimeChoice("float32", "auto on a GPU means float32")
        else:
            choice = choose_dtype(self.probe_key(), self._parity_probe)
        detail(f"bert: runs {choice.dtype} on {self.torch_device} ({choice.reason})")
        return choice

    def probe_key(self) -> str:
        """What the parity probe's cached result is keyed on: the model's files and the adapter merged into it."""
        return f"{self.resolved.fingerprint()}:{self.config.adapter or ''}"

    def _parity_probe(self) -> tuple[float, float]:
        """Mean and min cosine of bf16 against float32 vectors of the probe texts."""
        from latentstack.runtime import PROBE_TEXTS, parity

        runs = [type(self)(attrs.evolve(self.config, dtype=d, show_progress=False)).embed_many(list(PROBE_TEXTS))
                for d in ("float32", "bfloat16")]
        return parity(*runs)

    def runtime_info(self) -> dict[str, str]:
        """The dtype chosen and why (recorded in manifests, shown by ``latentstack doctor``)."""
        return {"dtype": self.runtime.dtype, "reason": self.runtime.reason}

    @cached_property
    def torch_device(self) -> str:
        """The torch device for ``config.device`` (see latentstack.hf.pick_device)."""
        from latentstack.hf import pick_device

        return pick_device(self.config.device)

    @cached_property
    def max_tokens(self) -> int:
        """``max_length``, capped by what the model's position embeddings allow."""
        limit = getattr(self.model.config, "max_position_embeddings", self.config.max_length)
        return min(self.config.max_length, int(limit))

    @cached_property
    def dim(self) -> int:
        """The encoder's hidden size."""
        from transformers import AutoConfig

        return int(AutoConfig.from_pretrained(self.resolved.path).hidden_size)

    def fingerprint(self) -> str:
        """Model files plus every option that changes the vectors."""
        c = self.config
        return f"bert:{self.resolved.fingerprint()}:{c.pooling}:{c.normalize}:{c.max_length}:{c.adapter}"

    def encoder_source(self) -> EncoderSource:
        """The encoder folder and pooling, for exporters (``latentstack export onnx``)."""
        c = self.config
        return EncoderSource(path=self.resolved.path, fingerprint=self.resolved.fingerprint(),
                             max_tokens=self.max_tokens, pooling=c.pooling, normalize=c.normalize, adapter=c.adapter)

    def encode_tokens(self, batch: dict[str, Any]) -> Any:
        """Pooled (and normalised) vectors of one tokenised batch, as a torch tensor."""
        import torch

        from latentstack.pooling import pool

        hidden = self.model(**batch).last_hidden_state
        vecs = pool(hidden, batch["attention_mask"], self.config.pooling).float()
        return torch.nn.functional.normalize(vecs, dim=-1) if self.config.normalize else vecs

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in length-sorted batches; rows return in input order."""
        import torch

        from latentstack.batching import embed_by_length, padded, token_ids

        tok = self.tokenizer

        def encode(batch_ids: list[list[int]]) -> np.ndarray:
            batch = padded(tok, batch_ids, tok.model_input_names)
            tensors = {k: torch.from_numpy(v).to(self.torch_device) for k, v in batch.items()}
            return self.encode_tokens(tensors).cpu().numpy()

        ids = token_ids(tok, texts, self.max_tokens)  # batches sorted by token count, not characters
        with torch.inference_mode():
            return embed_by_length(ids, self.config.batch_size, self.dim, encode, show=self.config.show_progress)
