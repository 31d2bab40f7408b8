"""An answer held to a JSON schema, token by token, with llguidance (the constrained decoder llama.cpp uses).

At each step the matcher says which tokens keep the answer a prefix of some JSON value the
schema allows; the others get a logit of minus infinity before the repetition penalty,
temperature and top_p, so greedy and sampled decoding both stay inside it. The answer ends
when the value is complete (or at an end token, allowed only once it is). JSON is written
with single spaces after ``:`` and ``,`` and no other whitespace: a small model left free
to add whitespace can write newlines until its token budget is gone.
"""

from __future__ import annotations

from typing import Any

from latentstack.errors import ConfigError, InputError

LAYOUT = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


def schema_tokenizer(tokenizer: Any, vocab_size: int, end_ids: set[int]) -> Any:
    """llguidance's view of a Hugging Face fast tokenizer (about a second to build: kept per generator)."""
    try:
        import llguidance.hf
    except ImportError:
        msg = "an answer held to a JSON schema needs llguidance: pip install 'latentstack[llm]'"
        raise ConfigError(msg) from None
    try:
        return llguidance.hf.from_tokenizer(tokenizer, n_vocab=vocab_size, eos_token=sorted(end_ids))
    except ValueError as exc:  # a slow (Python) tokenizer
        msg = f"this model's tokenizer cannot be read for a JSON schema ({exc}); give a model with tokenizer.json"
        raise ConfigError(msg) from None


class SchemaConstraint:
    """The tokens a JSON schema allows next, and the answer's progress through it."""

    def __init__(self, tokenizer: Any, schema: str) -> None:
        from llguidance import LLMatcher

        try:
            grammar = LLMatcher.grammar_from_json_schema(schema, overrides=LAYOUT)  # type: ignore[arg-type]
        except ValueError as exc:
            raise InputError(f"the JSON schema cannot be read: {exc}") from None
        self.matcher = LLMatcher(tokenizer, grammar, log_level=0)
        if self.matcher.is_error():
            msg = f"the JSON schema cannot be followed: {self.matcher.get_error()}; fix or simplify the schema"
            raise InputError(msg)

    def mask(self, logits: Any) -> Any:
        """``logits`` with every token the schema does not allow next at minus infinity."""
        import torch

        allowed = torch.frombuffer(bytearray(self.matcher.compute_logit_bias()), dtype=torch.uint8)
        allowed = allowed[: logits.shape[-1]].to(logits.device) > 0
        if allowed.shape[0] < logits.shape[-1]:  # the model's rows past the tokenizer's vocabulary: never picked
            allowed = torch.cat([allowed, allowed.new_zeros(logits.shape[-1] - allowed.shape[0])])
        return logits.masked_fill(~allowed, float("-inf"))

    def accept(self, token: int) -> bool:
        """Take ``token`` into the answer; False once the JSON value is complete (or the token was refused)."""
        return self.matcher.consume_token(token) and not self.matcher.is_stopped()
