"""Raw prompts of ``/v1/completions``: the model's own token ids, or a text with ``echo``, continued without a chat
template, as evaluation harnesses send them (lm-evaluation-harness's ``local-completions`` scores a continuation
from the echoed prompt's log-probabilities).

A prompt given as token ids is read as they are; a text prompt with ``echo`` is tokenized
as it is; either is continued as the model's own text (no chat template, unlike a text
prompt without echo, which is a user message). ``echo`` puts the prompt before the
answer, and with ``logprobs`` each prompt token's log-probability after those before it
(the first has none: null, as OpenAI and vLLM send it); with ``max_tokens`` 0 the prompt is
scored and nothing generated (vLLM's way to score a text).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from latentstack.http.answers import Written, written
from latentstack.http.errors import bad_request
from latentstack.http.logprobs import completion_logprobs
from latentstack.http.streaming import FairLock, Pieces
from latentstack.interfaces.generator import Finish, ScoredPiece, TokenScore

Prompt = str | tuple[int, ...]  # a text (a user message unless echoed) or the model's token ids


def token_ids(value: Any) -> bool:
    """Whether ``value`` is a non-empty list of token ids (integers, not booleans)."""
    return isinstance(value, list) and bool(value) and all(isinstance(i, int) and not isinstance(i, bool)
                                                           for i in value)


def id_prompts(value: Any, most: int) -> list[Prompt] | None:
    """``prompt`` as token ids (one list, or a list of lists, at most ``most``), or None when it is not ids."""
    if token_ids(value):
        return [tuple(value)]
    if not (isinstance(value, list) and value and all(token_ids(v) for v in value)):
        return None
    if len(value) > most:
        raise bad_request(f"'prompt' must hold 1 to {most} prompts", "prompt")
    return [tuple(v) for v in value]


@attrs.frozen
class Echoed:
    """The prompt an answer continues: its token ids, its text, its first token's text and the others' scores (with
    ``logprobs``)."""

    ids: tuple[int, ...]
    text: str
    first: str
    scores: tuple[TokenScore, ...] = ()

    def before(self, answer: Written, scored: bool) -> tuple[str, dict[str, Any] | None]:
        """The echoed text and legacy ``logprobs`` of the prompt followed by ``answer``."""
        if not scored:
            return self.text + answer.text, None
        after = completion_logprobs([*self.scores, *answer.tokens], len(self.first))
        logprobs = {"tokens": [self.first, *after["tokens"]], "token_logprobs": [None, *after["token_logprobs"]],
                    "top_logprobs": [None, *after["top_logprobs"]], "text_offset": [0, *after["text_offset"]]}
        return self.text + answer.text, logprobs


def echoing(gen: Any, adapter: str, prompt: Prompt, options: Any, lock: FairLock, scored: int | None,
            generate: bool = True) -> Pieces[Any]:
    """The prompt as read and echoed (an Echoed), then the pieces of the answer that continues it (none unless
    ``generate``: an empty answer cut at once, 'length'), in turn under ``lock``; not started yet."""

    def make() -> Iterator[Any]:
        gen.use_adapter(adapter)
        ids = prompt if isinstance(prompt, tuple) else tuple(gen.raw_tokens(prompt))
        scores = () if scored is None else gen.prompt_scores(ids, scored)
        yield Echoed(ids, gen.raw_text(ids), gen.raw_text(ids[:1]), scores)
        if generate:
            yield from gen.stream_raw(ids, options, scored)
        else:
            yield ScoredPiece("", (), Finish("length", 0))

    return Pieces(make, lock)


def echoed(items: list[Any]) -> tuple[Echoed, Written]:
    """The Echoed prompt and the whole answer of an ``echoing`` run's items."""
    return items[0], written(items[1:])
