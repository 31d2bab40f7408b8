"""Raw prompts for the onnx generator: the model's own token ids, scored or continued without a chat template (what
OpenAI's legacy completions read from evaluation harnesses), on the export itself, so an int8 export scores as
int8 runs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from latentstack.interfaces import GenerationConfig
from latentstack.interfaces.generator import ScoredPiece, TokenScore, as_options, checked_ids, checked_top
from latentstack.token_text import TokenText


class RawPrompts:
    """The Generator's raw-prompt members, for a class with ``text`` (a ``GenaiText``), ``context_window`` and
    ``continued``."""

    @property
    def text(self) -> Any:
        raise NotImplementedError

    @property
    def context_window(self) -> int:
        raise NotImplementedError

    def continued(self, ids: list[int], options: GenerationConfig, top: int | None) -> Iterator[ScoredPiece]:
        raise NotImplementedError

    def raw_tokens(self, text: str, special: bool = False) -> list[int]:
        """The export's token ids of ``text`` as it is (no chat markup), its special tokens added with ``special``."""
        return [int(i) for i in self.text.backend.encode(text, add_special_tokens=special).ids]

    def raw_text(self, ids: Sequence[int]) -> str:
        """The text of ``ids``, special tokens written out."""
        return str(self.text.backend.decode(self._checked(ids), skip_special_tokens=False))

    def tokenizer_info(self) -> dict[str, str | None]:
        """The export's beginning, end and padding tokens and its chat template (tokenizer_config.json and
        chat_template.jinja)."""
        folder = self.text.folder
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        info = {k: _content(config.get(k)) for k in ("bos_token", "eos_token", "pad_token")}
        template = folder / "chat_template.jinja"
        info["chat_template"] = template.read_text(encoding="utf-8") if template.exists() else _content(
            config.get("chat_template"))
        return info

    def prompt_scores(self, ids: Sequence[int], top_logprobs: int = 0) -> tuple[TokenScore, ...]:
        """Each token of ``ids`` after the first, scored after those before it, with its likeliest alternatives (read
        in one pass, as a prompt is)."""
        from latentstack_onnx.genai_decode import forced_logits, log_probs

        top, ids, text = checked_top(top_logprobs), self._checked(ids), self.text
        names, rows = TokenText(text.backend), forced_logits(text.model, ids[:1], ids[1:], text.floor)
        return tuple(names.score(token, *log_probs(row, token, top)) for token, row in zip(ids[1:], rows, strict=True))

    def stream_raw(self, ids: Sequence[int], options: GenerationConfig | None = None,
                   top_logprobs: int | None = None) -> Iterator[ScoredPiece]:
        """The pieces that continue ``ids``, the last with how the continuation ended."""
        top = None if top_logprobs is None else checked_top(top_logprobs)
        return self.continued(self._checked(ids), as_options(options), top)

    def _checked(self, ids: Sequence[int]) -> list[int]:
        return checked_ids(ids, int(self.text.vocab_size), self.context_window)


def _content(value: Any) -> str | None:
    """A tokenizer_config.json token: a string, or an added token's ``content``."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None
