"""The OpenAI response bodies of one chat completion: whole, or as server-sent chunks; a tool call or text."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from latentstack.http.answers import Shown, Written, usage
from latentstack.http.json_text import StringReader
from latentstack.http.logprobs import chat_content
from latentstack.http.streaming import Pieces, choice_chunks
from latentstack.http.tools import RESPONSE, ToolUse
from latentstack.interfaces.generator import Finish, ScoredPiece, TokenScore


class Reply:
    """The OpenAI response bodies of one chat completion."""

    def __init__(self, model: str, scored: bool, tools: ToolUse | None = None) -> None:
        self.id, self.created, self.model = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time()), model
        self.scored, self.tools = scored, tools

    def _scores(self, tokens: list[TokenScore]) -> dict[str, Any] | None:
        return {"content": chat_content(tokens), "refusal": None} if self.scored else None

    def _chunk(self, delta: dict[str, Any], finish: str | None, logprobs: Any = None, index: int = 0) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}]}

    async def chunks(self, choices: list[Pieces[ScoredPiece]],
                     prompt_tokens: Callable[[Finish], int] | None = None) -> AsyncIterator[dict[str, Any]]:
        """Each choice's role chunk, then its chunks as its pieces come (with their tokens' log-probabilities, when
        asked), the choices interleaved, each chunk with its choice's index (OpenAI's and vLLM's stream of ``n``),
        each choice ended by its finish reason; with ``prompt_tokens`` (the request's
        ``stream_options.include_usage``: the prompt's tokens, from an answer's Finish) a last chunk with no choices
        and the token usage of all, as OpenAI sends it. Tool calls are sent whole once written (a name may be a
        call's last part); a reply in text among tools, as it is written. A client that leaves stops them all."""
        ends: dict[int, tuple[Any, ...]] = {}  # each choice's Finish
        try:
            for index in range(len(choices)):
                yield self._chunk({"role": "assistant", "content": ""}, None, index=index)
        except BaseException:  # the client left before the choices' chunks: none begins its turn
            for pieces in choices:
                pieces.cancelled.set()
            raise
        async for chunk in choice_chunks([self._choice(i, pieces) for i, pieces in enumerate(choices)], choices, ends):
            yield chunk
        if prompt_tokens is not None:
            ended = [ends[index][0] for index in range(len(choices))]
            yield {**self._chunk({}, None), "choices": [],
                   "usage": usage(ended, prompt_tokens(ended[0]), choices=len(ended))}

    async def _choice(self, index: int, pieces: Pieces[ScoredPiece]) -> AsyncIterator[Any]:
        """One choice's chunks, its finish reason's last, then (index, Finish)."""
        shown, called = Shown(pieces), False
        async for delta, tokens in answer_deltas(shown, self.tools):
            called = called or "tool_calls" in delta
            yield self._chunk(delta, None, self._scores(tokens), index)
        yield self._chunk({}, _reason(shown.finish, called), index=index)
        yield index, shown.finish

    def completion(self, answers: list[Written], prompt_tokens: Callable[[Finish], int]) -> dict[str, Any]:
        """The whole answers at once, a choice each (with their tokens' log-probabilities when asked for), with the
        token usage of all (``prompt_tokens``: the prompt's, from an answer's Finish)."""
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                "choices": [self._whole(i, answer) for i, answer in enumerate(answers)],
                "usage": usage([a.finish for a in answers], prompt_tokens(answers[0].finish), choices=len(answers))}

    def _whole(self, index: int, answer: Written) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": answer.text}
        if self.tools is not None:
            message = self.tools.message(answer.text)
        return {"index": index, "message": message, "logprobs": self._scores(answer.tokens),
                "finish_reason": _reason(answer.finish, bool(message.get("tool_calls")))}


def answer_deltas(shown: Shown, tools: ToolUse | None) -> AsyncIterator[tuple[dict[str, Any], list[TokenScore]]]:
    """OpenAI's deltas of a streamed answer, each with its tokens' scores: its text as it is written, or among
    ``tools`` (``tool_deltas``) a reply in text or the tool calls."""
    return _text_deltas(shown) if tools is None else tool_deltas(shown, tools)


async def _text_deltas(shown: Shown) -> AsyncIterator[tuple[dict[str, Any], list[TokenScore]]]:
    async for item in shown:
        yield {"content": item.text}, list(item.tokens)


async def tool_deltas(shown: Shown, tools: ToolUse) -> AsyncIterator[tuple[dict[str, Any], list[TokenScore]]]:
    """OpenAI's deltas of an answer among tools: a reply in text as it is written (``auto``), the tool calls whole
    once written (a name may be a call's last part), in one delta, each with its index."""
    text, reader = "", StringReader()
    async for item in shown:
        text += item.text
        if tools.auto and text.startswith(RESPONSE):
            new = reader.read(text[len(RESPONSE):])
            if new:
                yield {"content": new}, []
    if tools.auto and text.startswith(RESPONSE):
        return
    message = tools.message(text)
    if message.get("tool_calls"):
        yield {"tool_calls": [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]}, []
    elif message["content"]:
        yield {"content": message["content"]}, []


def _reason(finish: Finish, called: bool) -> str:
    """OpenAI's finish_reason: 'length' when the budget ran out, else 'tool_calls' for a call, 'stop' for text."""
    return "tool_calls" if called and finish.reason == "stop" else finish.reason
