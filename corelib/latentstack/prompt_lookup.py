"""Decoding that checks several tokens a forward pass: those that followed the answer's last words where they came
before, in the prompt or the answer (prompt lookup decoding: transformers' ``prompt_lookup_num_tokens``, vLLM's
n-gram speculation, llama.cpp's lookup decoding).

An answer over retrieved passages copies from them, and a chat's answer repeats its question's words: where the
last two or three tokens occurred before, the tokens that followed them there are proposed, and one forward pass
over the last token and the proposals gives the model's own next token after each. The proposals are taken up to
the first the model would not have picked, and its pick there is taken too, so every token is the model's own
choice; the keys and values of those not taken are cut from the KV cache. On a CPU a pass over a few tokens costs
little more than over one (the weights are read once), so each token taken past the first is nearly free.

Sampled answers look up the same way: each row's token is sampled and compared with the proposal. That is
speculative sampling's rule for a proposal made with certainty (taken with the model's probability of it; where
refused, a token sampled from the model's other choices), so every token is drawn from the model's own
distribution after the tokens before it; and as each token taken costs one draw, a seeded answer is the one a
token a pass draws.

The loop is the generators' own (the torch and ONNX Runtime GenAI ones), given how to read tokens on their KV cache
and how to cut its last positions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs

NGRAMS = (3, 2)  # the longest match is tried first


def _draft(_: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        msg = (f"{attribute.name} is how many tokens found earlier an answer checks a forward pass: a whole "
               f"number, 0 for one token a pass, got {value!r:.40}")
        raise ValueError(msg)


def draft_option(default: int) -> Any:
    """A generator config's ``prompt_lookup`` field: how many proposed tokens are checked a pass (0: none)."""
    return attrs.field(default=default, validator=_draft)


class Pick:
    """The token of each row of logits in turn: ``choose`` (the likeliest by default; a sample) of
    ``prepared(logits, answer)`` (the row after a schema's mask and the repetition penalty over the prompt and
    ``answer``, the tokens picked so far), the ``constraint`` taking each token picked but an end token; ``ended``
    once an end token was picked or the constraint's JSON value is complete."""

    def __init__(self, prepared: Callable[[Any, list[int]], Any], constraint: Any, stop_ids: set[int],
                 choose: Callable[[Any], int] | None = None) -> None:
        self.prepared, self.constraint, self.stop_ids = prepared, constraint, stop_ids
        self.choose = choose if choose is not None else (lambda row: int(row.argmax()))
        self.ended = False

    def pick(self, logits: Any, answer: list[int]) -> int:
        """The token after ``answer`` from a row of ``logits``."""
        token = self.choose(self.prepared(logits, answer))
        self.ended = token in self.stop_ids or (self.constraint is not None and not self.constraint.accept(token))
        return token


class NgramIndex:
    """Where each two- and three-token sequence of ``tokens`` last occurred with a token after it."""

    def __init__(self, tokens: list[int]) -> None:
        self.tokens = tokens
        self.ends: dict[tuple[int, ...], int] = {}
        for end in range(1, len(tokens)):
            self._note(end)

    def _note(self, end: int) -> None:
        for n in NGRAMS:
            if end >= n:
                self.ends[tuple(self.tokens[end - n:end])] = end

    def append(self, token: int) -> None:
        """Add the answer's next token (the sequences ending before it now have a follower)."""
        self.tokens.append(token)
        self._note(len(self.tokens) - 1)

    def propose(self, most: int) -> list[int]:
        """``most`` tokens that followed the last tokens' latest earlier occurrence, none without one. Where those
        run up to the present, the text since then is taken to repeat (an answer caught in a loop goes on with it),
        so a loop is proposed whole rather than a token a pass."""
        for n in NGRAMS:
            if len(self.tokens) > n:
                end = self.ends.get(tuple(self.tokens[-n:]))
                if end is not None:
                    period = len(self.tokens) - end
                    return [self.tokens[end + i % period] for i in range(most)]
        return []


def lookup_steps(read: Callable[[list[int], int], Sequence[Any]], cut: Callable[[int], None], prompt: list[int],
                 start: int, *, max_new_tokens: int, stop_ids: set[int], draft: int,
                 picker: Pick) -> Iterator[tuple[int, Any]]:
    """A decode loop's (token, logits), up to ``draft`` proposed tokens checked a pass (0: a token a pass, nothing
    proposed or cut). ``read(tokens, n)`` reads ``tokens`` on the KV cache (which holds the first ``start`` tokens of
    ``prompt``) and gives the logits of the last ``n`` of them; ``cut(n)`` drops the cache's last ``n`` positions."""
    index = NgramIndex(list(prompt)) if draft else None
    made: list[int] = []
    proposal: list[int] = []
    step = list(prompt[start:])
    while len(made) < max_new_tokens:
        picked = _checked(read(step, len(proposal) + 1), proposal, made, picker)
        if len(picked) <= len(proposal):
            cut(len(proposal) + 1 - len(picked))  # the proposals after the last taken one
        for token, logits in picked:
            if token in stop_ids:
                return
            yield token, logits
            made.append(token)
            if index is not None:
                index.append(token)
        if picker.ended:  # a JSON value the schema allows is complete
            return
        proposal = [] if index is None else index.propose(min(draft, max_new_tokens - len(made) - 1))
        step = [made[-1], *proposal]


def _checked(rows: Sequence[Any], proposal: list[int], made: list[int], picker: Pick) -> list[tuple[int, Any]]:
    """The model's picks from ``rows`` (after the last token, then after each proposal), up to and with the first
    that differs from the proposal (or the last row, or one that ends the answer)."""
    picked: list[tuple[int, Any]] = []
    for i, logits in enumerate(rows):
        token = picker.pick(logits, [*made, *(t for t, _ in picked)])
        picked.append((token, logits))
        if picker.ended or i >= len(proposal) or token != proposal[i]:
            break
    return picked
