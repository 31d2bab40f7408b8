"""Raw prompts for the llm generator: the model's own token ids, scored or continued without a chat template (what
OpenAI's legacy completions read from evaluation harnesses: token ids, echo with log-probabilities)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from latentstack.interfaces import GenerationConfig
from latentstack.interfaces.generator import ScoredPiece, TokenScore, as_options, checked_ids, checked_top
from latentstack.token_text import TokenText
from latentstack_llm.decoding import log_probs

CHUNK = 512  # prompt tokens scored per forward pass: the logits of a whole window would take gigabytes


class RawPrompts:
    """The Generator's raw-prompt members, for a class with ``tokenizer``, ``model``, ``adapters``,
    ``context_window`` and ``continued``."""

    tokenizer: Any
    adapters: Any

    @property
    def model(self) -> Any:
        raise NotImplementedError

    @property
    def context_window(self) -> int:
        raise NotImplementedError

    def continued(self, ids: Any, options: GenerationConfig, top: int | None) -> Iterator[ScoredPiece]:
        raise NotImplementedError

    def raw_tokens(self, text: str, special: bool = False) -> list[int]:
        """The model's token ids of ``text`` as it is (no chat markup), the tokenizer's special tokens added with
        ``special``."""
        return list(self.tokenizer(text, add_special_tokens=special)["input_ids"])

    def raw_text(self, ids: Sequence[int]) -> str:
        """The text of ``ids``, special tokens written out."""
        return str(self.tokenizer.decode(self._checked(ids), skip_special_tokens=False))

    def tokenizer_info(self) -> dict[str, str | None]:
        """The tokenizer's beginning, end and padding tokens and its chat template."""
        keys = ("bos_token", "eos_token", "pad_token", "chat_template")
        values = {k: getattr(self.tokenizer, k, None) for k in keys}
        return {k: v if isinstance(v, str) else None for k, v in values.items()}

    def prompt_scores(self, ids: Sequence[int], top_logprobs: int = 0) -> tuple[TokenScore, ...]:
        """Each token of ``ids`` after the first, scored after those before it, with its likeliest alternatives."""
        import torch
        from transformers import DynamicCache

        top, ids = checked_top(top_logprobs), self._checked(ids)
        text, scores, cache = TokenText(self.tokenizer.backend_tokenizer), [], DynamicCache(config=self.model.config)
        with torch.inference_mode(), self.adapters.base_context():
            for start in range(0, len(ids) - 1, CHUNK):  # a chunk's logits at a time, the cache carrying the rest
                chunk = torch.tensor([ids[start:start + CHUNK]], device=self.model.device)
                out = self.model(input_ids=chunk, cache=cache, use_cache=True)  # the cache grows in place
                for i, token in enumerate(ids[start + 1:start + 1 + CHUNK]):
                    scores.append(text.score(token, *log_probs(out.logits[0, i], token, top)))
        return tuple(scores)

    def stream_raw(self, ids: Sequence[int], options: GenerationConfig | None = None,
                   top_logprobs: int | None = None) -> Iterator[ScoredPiece]:
        """The pieces that continue ``ids``, the last with how the continuation ended."""
        import torch

        top = None if top_logprobs is None else checked_top(top_logprobs)
        return self.continued(torch.tensor([self._checked(ids)]), as_options(options), top)

    def _checked(self, ids: Sequence[int]) -> list[int]:
        return checked_ids(ids, len(self.tokenizer), self.context_window)
