"""``POST /v1/completions``: OpenAI's legacy text completions, for the clients that still send them (LangChain's
``OpenAI`` LLM, editors' autocompletion, scripts written for gpt-3.5-turbo-instruct).

Served chat models are instruction-tuned, so each text prompt is read as the user's message
through the model's chat template, as Ollama's ``/api/generate`` does unless told ``raw``; a
prompt given as token ids, or any prompt with ``echo``, is continued raw (``http.raw``), as
evaluation harnesses need; ``logprobs`` (0 to 5) scores each token (``http.logprobs``). A
list of prompts is answered ``n`` choices each, all begun at once, so a generator that
decodes several answers together (``parallel``) decodes them together; streamed, each chunk
names its choice's ``index`` (prompt by prompt) and the choices' chunks interleave as they
are decoded (vLLM's stream), an echoed prompt in its choice's first chunk.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations (Request) at definition.

import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from latentstack.http import fields as f
from latentstack.http.answers import CUT_SHORT, Shown, Written, answering, answering_together, prompt_count, seeded, usage, written
from latentstack.http.errors import bad_request
from latentstack.http.logprobs import completion_logprobs, completion_scoring
from latentstack.http.raw import Echoed, Prompt, echoed, echoing, id_prompts
from latentstack.http.state import Served
from latentstack.http.streaming import Pieces, choice_chunks, collected, first_begun, sse
from latentstack.interfaces.generator import Finish, TokenScore

MAX_PROMPTS = 16
MAX_ANSWERS = 32  # prompts times choices
#: Fields of OpenAI's completions that only their default value is honoured for.
COMPLETION_ONLY: dict[str, tuple[Any, ...]] = {"suffix": ("",)}


def add_completion_route(app: Any, served: Served) -> None:
    """Attach ``POST /v1/completions`` to ``app``."""
    from fastapi import Request

    @app.post("/v1/completions", summary="OpenAI (legacy) text completions: each prompt answered as a user message")
    async def completions(request: Request) -> Any:
        body = await f.read_json(request)
        model = f.field(body, "model", str, "") or served.chat_model()
        adapter = served.adapter_for(model)
        f.unsupported(body, COMPLETION_ONLY)
        stream, echo = f.field(body, "stream", bool, False), f.field(body, "echo", bool, False)
        scoring_only = _no_tokens(body)  # with echo: the prompt scored, nothing generated (vLLM's max_tokens 0)
        if scoring_only and not echo:
            raise bad_request("'max_tokens' 0 generates nothing: it needs 'echo' (the prompt scored); else ask for "
                              f"1 to {f.MAX_TOKENS} tokens", "max_tokens")
        if scoring_only:
            body = {**{k: v for k, v in body.items() if k != "max_completion_tokens"}, "max_tokens": 1}
        prompts, options, scored = _prompts(body), f.generation(body), completion_scoring(body)
        n = _choices(body, len(prompts))
        with_usage = f.field(f.field(body, "stream_options", dict, {}), "include_usage", bool, False)
        gen, lock = served.generator_instance(), served.gen_lock
        runs = [run for p in prompts for run in _runs(gen, adapter, p, seeded(options, n), lock, scored, echo,
                                                         not scoring_only)]
        answer = Answer(model, scored is not None, echo, n)
        if stream:
            await first_begun(runs)  # the request's error is still a 400; a later prompt's ends the stream
            return sse(answer.chunks(runs, [_counter(gen, p) for p in prompts] if with_usage else None))
        items = await collected(runs, request.is_disconnected)
        if echo:
            both = [echoed(i) for i in items]
            return answer.whole([a for _, a in both], sum(len(e.ids) for e, _ in both[::n]), [e for e, _ in both])
        answers = [written(i) for i in items]
        return answer.whole(answers, sum(_counter(gen, p)(a.finish) for p, a in zip(prompts, answers[::n], strict=True)))


def _choices(body: dict[str, Any], prompts: int) -> int:
    """``n``: choices a prompt (``best_of``, if given, no more than it: the best of more is not picked here)."""
    n = f.bounded(body, "n", int, 1, f.MAX_CHOICES, 1)
    best_of = f.bounded(body, "best_of", int, 1, f.MAX_CHOICES, n)
    if best_of < n:
        raise bad_request(f"'best_of' {best_of} is below 'n' {n}: it must be at least 'n' (or left out)", "best_of")
    if best_of > n:
        raise bad_request(f"'best_of' {best_of} with 'n' {n}: choosing the best of more answers than are returned "
                          "is not supported; ask for 'n' choices and pick among them", "best_of")
    if prompts * n > MAX_ANSWERS:
        raise bad_request(f"{prompts} prompts with 'n' {n} ask for {prompts * n} answers; at most {MAX_ANSWERS} a "
                          "request", "n")
    return n


def _runs(gen: Any, adapter: str, prompt: Prompt, options: list[Any], lock: Any, scored: int | None, echo: bool,
          generate: bool) -> list[Pieces[Any]]:
    """One prompt's choices (one of ``options`` each), not begun: a chat prompt's decoded together, its prompt read
    once (``answering_together``), an echoed or raw one's each on its own."""
    if echo:
        return [echoing(gen, adapter, prompt, each, lock, scored, generate) for each in options]
    if len(options) > 1 and not isinstance(prompt, tuple):
        return answering_together(gen, adapter, prompt, options, lock, scored)
    return [answering(gen, adapter, prompt, each, lock, scored) for each in options]


def _counter(gen: Any, prompt: Prompt) -> Callable[[Finish], int]:
    """Tokens the model reads for ``prompt``: its token ids, or the chat-templated text (``prompt_count``)."""
    return (lambda _: len(prompt)) if isinstance(prompt, tuple) else prompt_count(gen, prompt)


def _no_tokens(body: dict[str, Any]) -> bool:
    """Whether ``max_tokens`` (or ``max_completion_tokens``) is 0: with ``echo``, score the prompt only."""
    return any(type(body.get(k)) is int and body[k] == 0 for k in ("max_tokens", "max_completion_tokens"))


def _prompts(body: dict[str, Any]) -> list[Prompt]:
    """``prompt``: the model's token ids (a list, or a list of lists), or texts as ``fields.texts`` reads them (none
    empty or too long); at most MAX_PROMPTS."""
    value = body.get("prompt")
    ids = id_prompts(value, MAX_PROMPTS)
    if ids is not None:
        return ids
    if isinstance(value, list) and not all(isinstance(p, str) for p in value):
        raise bad_request("'prompt' must be a text, a list of texts, a list of token ids or a list of such lists",
                          "prompt")
    items: list[Prompt] = list(f.texts(body, "prompt"))
    if len(items) > MAX_PROMPTS:
        raise bad_request(f"'prompt' must be a string or a list of 1 to {MAX_PROMPTS} strings", "prompt")
    return items


class Answer:
    """The OpenAI response bodies of one text completion request (``echo``: each after its prompt)."""

    def __init__(self, model: str, scored: bool, echo: bool = False, n: int = 1) -> None:
        self.id, self.created, self.model = f"cmpl-{uuid.uuid4().hex[:24]}", int(time.time()), model
        self.scored, self.echo, self.n = scored, echo, n

    def _logprobs(self, tokens: list[TokenScore], start: int) -> dict[str, Any] | None:
        return completion_logprobs(tokens, start) if self.scored else None

    def _body(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.id, "object": "text_completion", "created": self.created, "model": self.model,
                "choices": choices}

    async def chunks(self, runs: list[Pieces[Any]],
                     counters: list[Callable[[Finish], int]] | None) -> AsyncIterator[dict[str, Any]]:
        """Each choice's chunks, a piece each, then its finish reason, the choices' chunks interleaved as they come,
        each naming its choice's index (``n`` a prompt, in the prompts' order); with ``counters``
        (``stream_options.include_usage``: each prompt's tokens, from its first answer's Finish) a last chunk with no
        choices and the token usage of all. A client that leaves stops them all."""
        ends: dict[int, tuple[Any, ...]] = {}  # each choice's Finish and its echoed prompt's tokens
        async for chunk in choice_chunks([self._choice(i, run) for i, run in enumerate(runs)], runs, ends):
            yield chunk
        if counters is not None:
            finishes, firsts = [ends[i][0] for i in range(len(runs))], range(0, len(runs), self.n)
            read = sum(ends[i][1] if self.echo else counters[i // self.n](ends[i][0]) for i in firsts)
            yield {**self._body([]), "usage": usage(finishes, read, self.n)}

    async def _choice(self, index: int, run: Pieces[Any]) -> AsyncIterator[Any]:
        """One prompt's chunks (an echoed prompt's first), its finish reason's last, then (index, Finish, the
        echoed prompt's tokens)."""
        items, sent, tokens = aiter(run), 0, 0
        if self.echo:
            prompt: Echoed = await anext(items)
            text, scores = prompt.before(Written("", [], CUT_SHORT), self.scored)
            sent, tokens = len(text), len(prompt.ids)
            yield self._body([{"text": text, "index": index, "logprobs": scores, "finish_reason": None}])
        shown = Shown(items)
        async for item in shown:
            scores = self._logprobs(list(item.tokens), sent)
            sent += len(item.text)
            yield self._body([{"text": item.text, "index": index, "logprobs": scores, "finish_reason": None}])
        yield self._body([{"text": "", "index": index, "logprobs": None, "finish_reason": shown.finish.reason}])
        yield index, shown.finish, tokens

    def whole(self, answers: list[Written], prompt_tokens: int, echoed: list[Echoed] | None = None) -> dict[str, Any]:
        """Every prompt's answer, a choice each in the prompts' order (after its prompt, when ``echoed``), with the
        token usage of all."""
        choices = []
        for i, a in enumerate(answers):
            text, logprobs = (a.text, self._logprobs(a.tokens, 0)) if echoed is None else echoed[i].before(a, self.scored)
            choices.append({"text": text, "index": i, "logprobs": logprobs, "finish_reason": a.finish.reason})
        return {**self._body(choices), "usage": usage([a.finish for a in answers], prompt_tokens, self.n)}
