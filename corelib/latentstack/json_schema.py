"""An answer held to a JSON schema, token by token, with llguidance (the constrained decoder llama.cpp uses).

At each step the matcher says which tokens keep the answer a prefix of some JSON value the
schema allows; a generator gives the others a logit of minus infinity before its
repetition penalty, temperature and top_p, so greedy and sampled decoding both stay inside
it. The answer ends when the value is complete (or at an end token, allowed only once it
is). JSON is written with single spaces after ``:`` and ``,`` and no other whitespace: a
small model left free to add whitespace can write newlines until its token budget is gone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentstack.errors import ConfigError, InputError

LAYOUT = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


def schema_tokenizer(tokenizer: Any, vocab_size: int, end_ids: set[int]) -> Any:
    """llguidance's view of a ``tokenizers.Tokenizer`` (about a second to build: keep it per model)."""
    try:
        from llguidance import LLTokenizer
    except ImportError:
        msg = "an answer held to a JSON schema needs llguidance: pip install llguidance"
        raise ConfigError(msg) from None
    from copy import copy

    plain = copy(tokenizer)
    plain.no_padding()
    plain.no_truncation()
    return LLTokenizer(plain.to_str(), n_vocab=vocab_size, eos_token=sorted(end_ids))


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

    def allowed(self, n: int) -> np.ndarray:
        """Which of ``n`` token ids (a row of logits) the schema allows next (those past its vocabulary: none); an
        InputError when none is (the matcher gave up, e.g. on one of its limits), rather than a token picked from
        minus infinity everywhere."""
        bias = np.frombuffer(self.matcher.compute_logit_bias(), dtype=np.uint8)[:n] > 0
        if self.matcher.is_error() or not bias.any():
            msg = (f"the answer cannot go on within the JSON schema ({self.matcher.get_error() or 'no token fits'}); "
                   "simplify the schema")
            raise InputError(msg)
        return bias if len(bias) == n else np.concatenate([bias, np.zeros(n - len(bias), dtype=bool)])

    def complete(self) -> bool:
        """Whether the answer is a whole JSON value the schema allows (nothing more can follow)."""
        return bool(self.matcher.is_stopped())

    def accept(self, token: int) -> bool:
        """Take ``token`` into the answer; False once the JSON value is complete (or the token was refused)."""
        return bool(self.matcher.consume_token(token)) and not self.matcher.is_stopped()
