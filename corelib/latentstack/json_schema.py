"""An answer held to a JSON schema, token by token, with llguidance (the constrained decoder llama.cpp uses).

At each step the matcher says which tokens keep the answer a prefix of some JSON value the
schema allows; a generator gives the others a logit of minus infinity before its
repetition penalty, temperature and top_p, so greedy and sampled decoding both stay inside
it. The answer ends when the value is complete (or at an end token, allowed only once it
is). JSON is written with single spaces after ``:`` and ``,`` and no other whitespace: a
small model left free to add whitespace can write newlines until its token budget is gone.
An object schema that lists its ``properties`` and says nothing of others allows no others
(llama.cpp's rule: JSON schema would allow any, and a small model held to one invents keys
until its budget is gone); ``"additionalProperties": true`` allows them.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from latentstack.errors import ConfigError, InputError

LAYOUT = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}
_ONE = ("additionalProperties", "items", "not", "contains", "if", "then", "else", "propertyNames",
        "unevaluatedItems", "unevaluatedProperties")  # keywords whose value is a schema
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems", "items")  # ... a list of schemas
_NAMED = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")  # ... a map of schemas
_OPENED_BY = ("additionalProperties", "patternProperties", "unevaluatedProperties")


def closed(schema: Any) -> Any:
    """``schema`` with every object that lists ``properties`` and none of ``_OPENED_BY`` allowing no other keys."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in _ONE:
        if isinstance(out.get(key), dict):
            out[key] = closed(out[key])
    for key in _MANY:
        if isinstance(out.get(key), list):
            out[key] = [closed(s) for s in out[key]]
    for key in _NAMED:
        if isinstance(out.get(key), dict):
            out[key] = {name: closed(s) for name, s in out[key].items()}
    if isinstance(out.get("properties"), dict) and not any(k in out for k in _OPENED_BY):
        out["additionalProperties"] = False
    return out


def _llguidance() -> Any:
    """The llguidance module, or a ConfigError saying how to install it."""
    try:
        import llguidance
    except ImportError:
        msg = "an answer held to a JSON schema needs llguidance: pip install llguidance"
        raise ConfigError(msg) from None
    return llguidance


def schema_tokenizer(tokenizer: Any, vocab_size: int, end_ids: set[int]) -> Any:
    """llguidance's view of a ``tokenizers.Tokenizer`` (about a second to build: keep it per model)."""
    from copy import copy

    plain = copy(tokenizer)
    plain.no_padding()
    plain.no_truncation()
    return _llguidance().LLTokenizer(plain.to_str(), n_vocab=vocab_size, eos_token=sorted(end_ids))


def schema_grammar(schema: str) -> Any:
    """llguidance's grammar of the JSON schema text ``schema`` (objects closed, ``LAYOUT``); an InputError when it
    is no JSON."""
    try:
        return _llguidance().LLMatcher.grammar_from_json_schema(json.dumps(closed(json.loads(schema))), overrides=LAYOUT)
    except ValueError as exc:
        raise InputError(f"the JSON schema cannot be read: {exc}") from None


def _unfollowable(error: str) -> InputError:
    return InputError(f"the JSON schema cannot be followed: {' '.join(error.split())}; fix or simplify the schema")


def check_schema(schema: str) -> str:
    """``schema``, once llguidance can follow it (no model needed: a command checks it before loading one)."""
    error = _llguidance().LLMatcher.validate_grammar(schema_grammar(schema))
    if error:
        raise _unfollowable(error)
    return schema


class SchemaConstraint:
    """The tokens a JSON schema allows next, and the answer's progress through it."""

    def __init__(self, tokenizer: Any, schema: str) -> None:
        from llguidance import LLMatcher

        self.matcher = LLMatcher(tokenizer, schema_grammar(schema), log_level=0)
        if self.matcher.is_error():
            raise _unfollowable(self.matcher.get_error())

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
