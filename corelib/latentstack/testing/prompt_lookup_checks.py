"""Checks for a generator that looks up proposed tokens (``latentstack.prompt_lookup``): its answers must be the ones a
token-a-pass reading gives, in fewer passes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from latentstack.interfaces import GenerationConfig

if TYPE_CHECKING:
    from latentstack.interfaces import Generator

#: A prompt whose words repeat, so that proposals are found (and a random tiny model's answers loop over them).
REPEATING = "the cat sat on the mat and the cat sat on the hat and the dog sat on the log " * 3
#: Line breaks followed by other words: a tiny model that answers line breaks has its first proposals (the words
#: after the prompt's line breaks) refused, and their positions cut from the KV cache.
BREAKS = "a\n\n\nb c\n\n\nd e\n\n\n\n\nf"
#: JSON of ``SCHEMA``'s shape, so that an answer held to it finds proposals.
JSONISH = '{"a": "", "b": ["the dog sat", "the cat"]} ' * 3
SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "array", "items": {
    "type": "string", "enum": ["the cat", "the dog sat"]}}}, "required": ["a", "b"]}


def counted_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one for each forward pass a loop that looks up reads (the prompt's included); a loop
    that proposes nothing (``draft`` 0, a token a pass) is not counted."""
    import latentstack.prompt_lookup as lookup_module

    passes: list[int] = []
    steps = lookup_module.lookup_steps

    def counting(read: Any, *args: Any, **kwargs: Any) -> Any:
        def counted(*read_args: Any) -> Any:
            passes.append(1)
            return read(*read_args)

        return steps(counted if kwargs["draft"] else read, *args, **kwargs)

    monkeypatch.setattr(lookup_module, "lookup_steps", counting)
    return passes


def greedy(gen: Generator, prompt: Any, new: int = 24, **options: Any) -> tuple[str, list[float], Any]:
    """``gen``'s greedy answer to ``prompt`` in at most ``new`` tokens: its text, log-probabilities and Finish."""
    pieces = list(gen.stream_answer(prompt, GenerationConfig(max_new_tokens=new, **options), top_logprobs=0))
    return "".join(p.text for p in pieces), [t.logprob for p in pieces for t in p.tokens], pieces[-1].finish


def assert_answers_as_plain(lookup: Generator, plain: Generator, prompts: tuple[str, ...], new: int,
                            abs_tol: float = 1e-4, **options: Any) -> int:
    """``lookup`` answers each prompt as ``plain`` (a token a pass) does: the same text, token count and reason, the
    log-probabilities equal to ``abs_tol``; the tokens answered in all."""
    tokens = 0
    for prompt in prompts:
        text, logprobs, finish = greedy(lookup, prompt, new, **options)
        text_plain, logprobs_plain, finish_plain = greedy(plain, prompt, new, **options)
        assert (text, finish.tokens, finish.reason) == (text_plain, finish_plain.tokens, finish_plain.reason)
        assert logprobs == pytest.approx(logprobs_plain, abs=abs_tol)
        tokens += finish.tokens
    return tokens
