"""A transformers encoder turned into an Embedder."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from latentstack.hf import LocalModel
from latentstack.interfaces import Embedder, EmbedderConfig
from latentstack.interfaces.embedder import EncoderSource
from latentstack.pooling import POOLINGS
from latentstack.runtime import AutoDtype
from latentstack_bert.st_dense import Projection, check_chain
from latentstack_bert.st_layout import Layout, read_layout

_SAID: set[Path] = set()  # the folders whose layout -v has shown


@attrs.frozen(kw_only=True)
class BertConfig(EmbedderConfig):
    """Which encoder, how to pool, and how much of each text to read."""

    model: str = "minilm"
    #: "auto": the pooling a sentence-transformers folder names (1_Pooling), else mean.
    pooling: str = attrs.field(default="auto", validator=attrs.validators.in_(("auto", *POOLINGS)))
    normalize: bool = True
    #: None: a sentence-transformers folder's max_seq_length, else 256.
    max_length: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.gt(1)))
    #: "auto": bfloat16 where the CPU has bf16 units and a probe finds it exact and faster (latentstack.runtime).
    dtype: str = attrs.field(default="auto", validator=attrs.validators.in_(("auto", "float32", "bfloat16")))
    adapter: str = ""
    #: False: no prompt before any text, whatever a sentence-transformers folder names (E5's "query: ").
    prompts: bool = True
    device: str = attrs.field(default="cpu", validator=attrs.validators.in_(("cpu", "cuda", "auto")))


class BertEmbedder(AutoDtype, LocalModel, Embedder):
    """Encoder outputs pooled (``latentstack.pooling``: [CLS], masked mean or max, the last token, ...),
    optionally L2-normalised.

    A sentence-transformers folder is read as sentence-transformers reads it (``st_layout``):
    its pooling, ``max_seq_length`` and ``do_lower_case`` are the defaults, and its Dense
    projections (``st_dense``) are applied to the pooled vector before normalising. Texts are sorted by
    length before batching so that each batch pads little; the output rows come back in input
    order. Texts longer than ``max_length`` tokens are truncated (all-MiniLM-L6-v2 was trained
    on 256). Empty strings embed as [CLS][SEP].
    """

    name = "bert"
    Config = BertConfig
    config: BertConfig

    @cached_property
    def model(self) -> Any:
        """The encoder in eval mode (with its LoRA adapter merged, when one is configured); of an encoder-decoder
        (sentence-T5, GTR), the encoder alone."""
        import torch

        from latentstack.hf import encoder_loader, quiet_transformers

        quiet_transformers()
        model = encoder_loader(self.model_config).from_pretrained(self.resolved.path,
                                                                  dtype=getattr(torch, self.runtime.dtype))
        if self.config.adapter:
            from latentstack import get_adapter

            lora = get_adapter("lora")
            model = lora.merge(lora.load(model, self.config.adapter, self.resolved.fingerprint()))
        return model.eval().to(self.torch_device)

    @cached_property
    def layout(self) -> Layout | None:
        """How sentence-transformers reads the model folder; None for a plain transformers folder (``-v`` says
        which it is, and what was read)."""
        from latentstack.progress import detail

        layout = read_layout(self.resolved.path)
        if self.resolved.path in _SAID:
            return layout
        _SAID.add(self.resolved.path)  # once per folder: the dtype probe builds embedders of its own
        if layout is None:
            detail(f"bert: {self.resolved.name} has no modules.json: mean pooling unless chosen, 256 tokens")
        else:
            named = {name: text for name, text in layout.prompts.items() if text}
            default = f" (default {layout.default_prompt})" if layout.default_prompt else ""
            detail(f"bert: {self.resolved.name} is a sentence-transformers folder: pooling {' + '.join(layout.modes)}, "
                   f"max_seq_length {layout.max_seq_length or 'unset'}, prompts {named or 'none'}{default}"
                   + (", lower-cased" if layout.lowercase else "")
                   + "".join(f", Dense {p.in_features} -> {p.out_features}" for p in layout.projections))
        return layout

    @cached_property
    def pooling(self) -> str:
        """The configured pooling; for "auto", the folder's (sentence-transformers) or mean."""
        if self.config.pooling != "auto":
            return self.config.pooling
        return self.layout.pooling() if self.layout else "mean"

    @cached_property
    def max_length(self) -> int:
        """The configured ``max_length``; for None, the folder's ``max_seq_length`` or 256."""
        folder = self.layout.max_seq_length if self.layout else None
        return self.config.max_length or folder or 256

    @cached_property
    def max_tokens(self) -> int:
        """``max_length``, capped by what the model's position embeddings allow (read from its config.json)."""
        limit = getattr(self.model_config, "max_position_embeddings", self.max_length)
        return min(self.max_length, int(limit))

    def prompt(self, kind: str) -> str:
        """The prompt a sentence-transformers folder names for ``kind`` (``st_layout.Layout.prompt``); else none."""
        return self.layout.prompt(kind) if self.layout and self.config.prompts else ""

    def _ids(self, texts: Sequence[str], limit: int) -> list[list[int]]:
        """Token ids of ``texts`` (lower-cased first where the folder says ``do_lower_case``)."""
        from latentstack.batching import token_ids

        lower = self.layout is not None and self.layout.lowercase
        return token_ids(self.tokenizer, [t.lower() for t in texts] if lower else texts, limit)

    def text_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of ``texts`` as they are embedded (lower-cased where the folder says so, cut at ``max_tokens``)."""
        return self._ids(texts, self.max_tokens)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Each text's tokens, special tokens included, up to ``max_tokens`` (the tokenizer only)."""
        return [len(row) for row in self._ids(texts, self.max_tokens)]

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many texts have more than ``max_tokens`` tokens (the tokenizer only; the model is not loaded)."""
        from latentstack.batching import count_cut

        return count_cut(self._ids(texts, self.max_tokens + 1), self.max_tokens)

    @cached_property
    def projections(self) -> tuple[Projection, ...]:
        """A sentence-transformers folder's Dense modules, each checked to read what the one before it gives."""
        projections = self.layout.projections if self.layout else ()
        check_chain(int(self.model_config.hidden_size), projections)
        return projections

    @cached_property
    def head(self) -> Any:
        """The Dense modules as one float32 torch module on the model's device, or None for a folder without."""
        if not self.projections:
            return None
        from latentstack_bert.dense_head import dense_head

        return dense_head(self.projections).to(self.torch_device)

    @cached_property
    def dim(self) -> int:
        """The encoder's hidden size, or the last Dense module's output size."""
        return self.projections[-1].out_features if self.projections else int(self.model_config.hidden_size)

    @cached_property
    def adapter_digest(self) -> str:
        """The configured adapter's manifest digest, which covers its weights' checksums ("" for none): an adapter
        trained again in the same folder changes the fingerprint, as its path alone would not."""
        if not self.config.adapter:
            return ""
        from latentstack.storage import read_manifest

        return read_manifest(self.config.adapter, kind="adapter", version=None).digest[:16]

    def fingerprint(self) -> str:
        """Model files plus every option that changes the vectors."""
        c = self.config
        base = f"bert:{self.resolved.fingerprint()}:{self.pooling}:{c.normalize}:{self.max_length}:{self.adapter_digest}"
        prompts = {kind: self.prompt(kind) for kind in ("query", "document", "")}
        if not any(prompts.values()):
            return base
        return f"{base}:prompts-{hashlib.sha256(json.dumps(prompts, sort_keys=True).encode()).hexdigest()[:12]}"

    def encoder_source(self) -> EncoderSource:
        """The encoder folder and pooling, for exporters (``latentstack export onnx``)."""
        c = self.config
        return EncoderSource(path=self.resolved.path, fingerprint=self.resolved.fingerprint(),
                             max_tokens=self.max_tokens, pooling=self.pooling, normalize=c.normalize, adapter=c.adapter,
                             head=self.head)

    def encode_tokens(self, batch: dict[str, Any]) -> Any:
        """Pooled (and normalised) vectors of one tokenised batch, as a torch tensor."""
        import torch

        from latentstack.pooling import pool

        hidden = self.model(**batch).last_hidden_state
        vecs = pool(hidden, batch["attention_mask"], self.pooling).float()
        if self.head is not None:
            vecs = self.head(vecs)
        return torch.nn.functional.normalize(vecs, dim=-1) if self.config.normalize else vecs

    def encode_ids(self, ids: list[list[int]]) -> Any:
        """Pooled (and normalised) vectors of one batch of token ids (padded here), as a torch tensor."""
        import torch

        from latentstack.batching import padded

        batch = padded(self.tokenizer, ids, self.tokenizer.model_input_names)
        return self.encode_tokens({k: torch.from_numpy(v).to(self.torch_device) for k, v in batch.items()})

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in length-sorted batches; rows return in input order."""
        import torch

        from latentstack.batching import embed_by_length

        def encode(batch_ids: list[list[int]]) -> np.ndarray:
            return self.encode_ids(batch_ids).cpu().numpy()

        ids = self._ids(texts, self.max_tokens)  # batches sorted by token count, not characters
        with torch.inference_mode():
            return embed_by_length(ids, self.config.batch_size, self.dim, encode, show=self.config.show_progress)
