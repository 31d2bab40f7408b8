"""``POST /v1/completions``: OpenAI's legacy text completions, for the clients that still send them (LangChain's
``OpenAI`` LLM, editors' autocompletion, scripts written for gpt-3.5-turbo-instruct).

Served chat models are instruction-tuned, so each text prompt is read as the user's message
through the model's chat template, as Ollama's ``/api/generate`` does unless told ``raw``; a
prompt given as token ids, or any prompt with ``echo``, is continued raw (``http.raw``), as
evaluation harnesses need; ``logprobs`` (0 to 5) scores each token (``http.logprobs``). A
list of prompts is answered one after another, a choice each; a stream is of one prompt.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations (Request) at definition.

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from latentstack.http import fields as f
from latentstack.http.errors import bad_request
from latentstack.http.logprobs import completion_logprobs, completion_scoring
from latentstack.http.raw import Echoed, Prompt, echoed_answer, id_prompts
from latentstack.http.state import Served
from latentstack.http.streaming import Pieces, Shown, Written, generating, sse, usage, written
from latentstack.interfaces.generator import TokenScore

MAX_PROMPTS = 16
#: Fields of OpenAI's completions that only their default value is honoured for.
COMPLETION_ONLY: dict[str, tuple[Any, ...]] = {
    "n": (1,), "best_of": (1,), "suffix": ("",),
}


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
        if stream and len(prompts) > 1:
            raise bad_request(f"'stream' answers one prompt; 'prompt' holds {len(prompts)}: send them one by one",
                              "stream")
        if stream and echo:
            raise bad_request("'echo' with 'stream' is not supported: ask for the whole completion", "echo")
        with_usage = f.field(f.field(body, "stream_options", dict, {}), "include_usage", bool, False)
        gen, lock, gone = served.generator_instance(), served.gen_lock, request.is_disconnected
        answer = Answer(model, scored is not None)
        if stream:
            pieces = await generating(gen, adapter, prompts[0], options, lock, scored)
            return sse(answer.chunks(pieces, _prompt_tokens(gen, prompts[0]) if with_usage else None))
        if echo:
            both = [await echoed_answer(gen, adapter, p, options, lock, scored, gone, not scoring_only)
                    for p in prompts]
            return answer.whole([a for _, a in both], sum(len(e.ids) for e, _ in both), [e for e, _ in both])
        answers = [written(await (await generating(gen, adapter, p, options, lock, scored)).collect(gone))
                   for p in prompts]
        return answer.whole(answers, sum(_prompt_tokens(gen, p) for p in prompts))


def _prompt_tokens(gen: Any, prompt: Prompt) -> int:
    """Tokens the model reads for ``prompt``: its token ids, or the chat-templated text."""
    return len(prompt) if isinstance(prompt, tuple) else int(gen.count_prompt_tokens(prompt))


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
    """The OpenAI response bodies of one text completion request."""

    def __init__(self, model: str, scored: bool) -> None:
        self.id, self.created, self.model = f"cmpl-{uuid.uuid4().hex[:24]}", int(time.time()), model
        self.scored = scored

    def _logprobs(self, tokens: list[TokenScore], start: int) -> dict[str, Any] | None:
        return completion_logprobs(tokens, start) if self.scored else None

    def _body(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.id, "object": "text_completion", "created": self.created, "model": self.model,
                "choices": choices}

    async def chunks(self, pieces: Pieces, prompt_tokens: int | None) -> AsyncIterator[dict[str, Any]]:
        """One chunk a piece, then the finish reason; with ``prompt_tokens`` (``stream_options.include_usage``)
        a last chunk with no choices and the token usage."""
        sent, shown = 0, Shown(pieces)
        async for item in shown:
            scores = self._logprobs(list(item.tokens), sent)
            sent += len(item.text)
            yield self._body([{"text": item.text, "index": 0, "logprobs": scores, "finish_reason": None}])
        yield self._body([{"text": "", "index": 0, "logprobs": None, "finish_reason": shown.finish.reason}])
        if prompt_tokens is not None:
            yield {**self._body([]), "usage": usage([shown.finish], prompt_tokens)}

    def whole(self, answers: list[Written], prompt_tokens: int, echoed: list[Echoed] | None = None) -> dict[str, Any]:
        """Every prompt's answer, a choice each in the prompts' order (after its prompt, when ``echoed``), with the
        token usage of all."""
        choices = []
        for i, a in enumerate(answers):
            text, logprobs = (a.text, self._logprobs(a.tokens, 0)) if echoed is None else echoed[i].before(a, self.scored)
            choices.append({"text": text, "index": i, "logprobs": logprobs, "finish_reason": a.finish.reason})
        return {**self._body(choices), "usage": usage([a.finish for a in answers], prompt_tokens)}
