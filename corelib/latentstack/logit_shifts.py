"""OpenAI's ``presence_penalty``, ``frequency_penalty`` and ``logit_bias``: what is added to a row of logits before
a token is picked from it.

A token already written in the answer has ``frequency_penalty`` times the number of times it was written, and
``presence_penalty`` once, taken from its logit (OpenAI's rule, counted over the answer's tokens as vLLM counts
them, not the prompt's: ``repetition_penalty`` is the one that reads the prompt). ``logit_bias`` adds its value to
each token id it names, from -100 (the token is never picked) to 100 (it all but always is). Both come after a JSON
schema's mask, which they cannot undo, and after the repetition penalty; then temperature and top_p.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

import attrs

from latentstack.errors import InputError

PENALTY_RANGE = (-2.0, 2.0)  # OpenAI's, for both penalties
BIAS_RANGE = (-100.0, 100.0)
MAX_BIASED = 1024  # token ids one request may bias


def _token_id(key: object) -> int:
    """A logit_bias key as a token id: an int, or its digits (JSON's object keys are strings)."""
    if isinstance(key, int) and not isinstance(key, bool) and key >= 0:
        return key
    if isinstance(key, str) and key.isdigit():
        return int(key)
    msg = f"logit_bias maps token ids (whole numbers from 0) to biases, got the key {key!r:.40}"
    raise ValueError(msg)


def _number_in(value: object, bounds: tuple[float, float]) -> TypeGuard[float]:
    """Whether ``value`` is a number (not a bool) within ``bounds``."""
    return not isinstance(value, bool) and isinstance(value, int | float) and bounds[0] <= value <= bounds[1]


def _bias_value(key: int, value: object) -> float:
    if not _number_in(value, BIAS_RANGE):
        msg = f"logit_bias of token {key} must be a number from {BIAS_RANGE[0]:g} to {BIAS_RANGE[1]:g}, got {value!r:.40}"
        raise ValueError(msg)
    return float(value)


def logit_bias(value: Mapping[Any, Any] | Sequence[tuple[Any, Any]] | None) -> tuple[tuple[int, float], ...]:
    """``GenerationConfig.logit_bias`` as (token id, bias) pairs in id order (a dict, or pairs; None: none)."""
    if value is None:
        return ()
    if not isinstance(value, Mapping | Sequence) or isinstance(value, str | bytes):
        msg = f"logit_bias is a dict of token id to bias, got {type(value).__name__}"
        raise ValueError(msg)
    pairs = value.items() if isinstance(value, Mapping) else value
    biased: dict[int, float] = {}
    for pair in pairs:
        if not isinstance(pair, Sequence) or len(pair) != 2:
            msg = f"logit_bias is a dict of token id to bias (or its (id, bias) pairs), got the item {pair!r:.40}"
            raise ValueError(msg)
        key, bias = pair
        token = _token_id(key)
        biased[token] = _bias_value(token, bias)
    if len(biased) > MAX_BIASED:
        msg = f"logit_bias names {len(biased)} tokens; at most {MAX_BIASED}"
        raise ValueError(msg)
    return tuple(sorted(biased.items()))


def _penalty(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    if not _number_in(value, PENALTY_RANGE):
        low, high = PENALTY_RANGE
        msg = f"{attribute.name} must be a number from {low:g} to {high:g} (0: none), got {value!r:.40}"
        raise ValueError(msg)


def penalty_field() -> Any:
    """A GenerationConfig field for one of OpenAI's penalties (0: none)."""
    return attrs.field(default=0.0, validator=_penalty)


@attrs.frozen
class Shifts:
    """What the penalties and bias of one answer's options add to each row of its logits."""

    presence: float
    frequency: float
    bias: tuple[tuple[int, float], ...]

    @classmethod
    def of(cls, options: Any) -> Shifts | None:
        """The shifts a GenerationConfig asks for, or None where it asks for none."""
        if not (options.presence_penalty or options.frequency_penalty or options.logit_bias):
            return None
        return cls(options.presence_penalty, options.frequency_penalty, options.logit_bias)

    def at(self, answer: Sequence[int], vocab: int) -> tuple[list[int], list[float]]:
        """The token ids whose logits move after ``answer`` (the tokens written so far) and by how much, in a
        vocabulary of ``vocab`` logits; an InputError where the bias names a token past it."""
        if self.bias and self.bias[-1][0] >= vocab:
            msg = (f"logit_bias names token {self.bias[-1][0]}, but the model's vocabulary has {vocab} tokens: give "
                   "token ids of this model's tokenizer")
            raise InputError(msg)
        shifted = dict(self.bias)
        if self.presence or self.frequency:
            for token, count in Counter(answer).items():
                shifted[token] = shifted.get(token, 0.0) - self.frequency * count - self.presence
        return list(shifted), list(shifted.values())
