"""``POST /v1/responses``: OpenAI's Responses API (the OpenAI Agents SDK's and newer clients' default), answered as the
chat route answers the chat request it asks for (``responses_request``), whole or as its typed server-sent events.

The response holds an assistant ``message`` item with one ``output_text`` part, or the ``function_call`` items
of a tool call; an answer cut by ``max_output_tokens`` is ``incomplete``. Streamed: ``response.created``,
``response.in_progress``, each output item added, its text's deltas (a function call's arguments whole, once
written), each item done, then ``response.completed`` (or ``response.incomplete``), every event numbered.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations (Request) at definition.

import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from latentstack.http import fields as f
from latentstack.http.answers import Shown, generating, prompt_count, usage, written
from latentstack.http.chat_reply import answer_deltas
from latentstack.http.responses_request import chat_body, input_items
from latentstack.http.responses_store import ResponseStore
from latentstack.http.routes import chat_request
from latentstack.http.state import Served
from latentstack.http.streaming import sse
from latentstack.http.tools import ToolUse
from latentstack.interfaces.generator import Finish


def add_responses_route(app: Any, served: Served) -> None:
    """Attach ``POST /v1/responses`` to ``app``."""
    from fastapi import Request

    @app.post("/v1/responses", summary="OpenAI Responses: input and instructions answered as the chat route would, "
                                       "whole or as typed server-sent events")
    async def responses(request: Request) -> Any:
        body = await f.read_json(request)
        model = f.field(body, "model", str, "") or served.chat_model()
        adapter = served.adapter_for(model)
        previous = f.field(body, "previous_response_id", str, "") or None
        history = served.responses.conversation(previous) if previous else []
        messages, options, scored, tools, _ = chat_request(chat_body(body, history))
        gen = served.generator_instance()
        pieces = await generating(gen, adapter, messages, options, served.gen_lock, scored)
        keep = served.responses if f.field(body, "store", bool, True) else None
        reply = ResponseReply(model, body, tools, prompt_count(gen, messages), (previous, keep))
        if f.field(body, "stream", bool, False):
            return sse(reply.events(Shown(pieces)), error=_error_event, done=False)
        answer = written(await pieces.collect(request.is_disconnected))
        return reply.done(_status(answer.finish), reply.output(answer.text), answer.finish)

    @app.get("/v1/responses/{response_id}", summary="A kept response, as it was answered")
    async def get_response(response_id: str) -> Any:
        return served.responses.get(response_id).response

    @app.get("/v1/responses/{response_id}/input_items", summary="A kept response's own input items, a page at a time")
    async def list_input_items(response_id: str, request: Request) -> Any:
        return served.responses.input_page(response_id, request.query_params)

    @app.delete("/v1/responses/{response_id}", summary="Forget a kept response")
    async def delete_response(response_id: str) -> Any:
        return served.responses.delete(response_id)


class ResponseReply:
    """The Responses API bodies of one answer."""

    def __init__(self, model: str, body: dict[str, Any], tools: ToolUse | None,
                 prompt_tokens: Callable[[Finish], int], kept: tuple[str | None, ResponseStore | None] = (None, None)) -> None:
        self.id, self.created, self.model = f"resp_{uuid.uuid4().hex}", int(time.time()), model
        self.body, self.tools, self.prompt_tokens, self.sent = body, tools, prompt_tokens, 0
        self.previous, self.store = kept  # the response this one follows; where it is kept (None: not kept)

    def done(self, status: str, output: list[dict[str, Any]], finish: Finish) -> dict[str, Any]:
        """The finished response, kept when asked to be (``store``)."""
        response = self.response(status, output, finish)
        if self.store is not None:
            self.store.keep(response, self.previous, input_items(self.body))
        return response

    def response(self, status: str, output: list[dict[str, Any]], finish: Finish | None = None) -> dict[str, Any]:
        """The response object: its request's settings, its ``output`` items, and (once done) its usage."""
        body = self.body
        return {"id": self.id, "object": "response", "created_at": self.created, "status": status, "error": None,
                "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
                "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
                "model": self.model, "output": output, "parallel_tool_calls": body.get("parallel_tool_calls", False),
                "previous_response_id": self.previous, "reasoning": {"effort": None, "summary": None},
                "store": self.store is not None,
                "temperature": body.get("temperature", 0.0), "text": body.get("text") or {"format": {"type": "text"}},
                "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
                "top_p": body.get("top_p", 1.0), "truncation": "disabled", "metadata": body.get("metadata") or {},
                "usage": None if finish is None else self._usage(finish)}

    def _usage(self, finish: Finish) -> dict[str, Any]:
        counted = usage([finish], self.prompt_tokens(finish))
        return {"input_tokens": counted["prompt_tokens"],
                "input_tokens_details": {"cached_tokens": counted["prompt_tokens_details"]["cached_tokens"]},
                "output_tokens": counted["completion_tokens"], "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": counted["total_tokens"]}

    def output(self, text: str) -> list[dict[str, Any]]:
        """The output items of a whole answer: its tool calls, or a message."""
        said: dict[str, Any] = self.tools.message(text) if self.tools is not None else {"content": text}
        if said.get("tool_calls"):
            return [_function_call(call) for call in said["tool_calls"]]
        return [_message(f"msg_{uuid.uuid4().hex}", said["content"] or "", "completed")]

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.sent += 1
        return {"type": kind, "sequence_number": self.sent - 1, **fields}

    async def events(self, shown: Shown) -> AsyncIterator[dict[str, Any]]:
        """The typed events of a streamed answer, numbered in order."""
        yield self._event("response.created", response=self.response("in_progress", []))
        yield self._event("response.in_progress", response=self.response("in_progress", []))
        output: list[dict[str, Any]] = []
        text: str | None = None  # the message's text so far (None: no message item yet)
        async for delta, _ in answer_deltas(shown, self.tools):
            if delta.get("content"):
                if text is None:
                    text = ""
                    async for event in self._message_added(output):
                        yield event
                text += delta["content"]
                yield self._event("response.output_text.delta", item_id=output[-1]["id"],
                                  output_index=len(output) - 1, content_index=0, delta=delta["content"], logprobs=[])
            for call in delta.get("tool_calls", []):
                async for event in self._call_events(output, _function_call(call)):
                    yield event
        if text is None and not output:  # an empty answer is still a message
            text = ""
            async for event in self._message_added(output):
                yield event
        if text is not None:
            async for event in self._message_done(output, text):
                yield event
        yield self._event(f"response.{_status(shown.finish)}", response=self.done(_status(shown.finish), output,
                                                                                 shown.finish))

    async def _message_added(self, output: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        item = _message(f"msg_{uuid.uuid4().hex}", "", "in_progress")
        output.append(item)
        yield self._event("response.output_item.added", output_index=len(output) - 1, item={**item, "content": []})
        yield self._event("response.content_part.added", item_id=item["id"], output_index=len(output) - 1,
                          content_index=0, part=item["content"][0])

    async def _message_done(self, output: list[dict[str, Any]], text: str) -> AsyncIterator[dict[str, Any]]:
        index = next(i for i, item in enumerate(output) if item["type"] == "message")
        item = output[index] = _message(output[index]["id"], text, "completed")
        yield self._event("response.output_text.done", item_id=item["id"], output_index=index, content_index=0,
                          text=text, logprobs=[])
        yield self._event("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                          part=item["content"][0])
        yield self._event("response.output_item.done", output_index=index, item=item)

    async def _call_events(self, output: list[dict[str, Any]], item: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        output.append(item)
        index = len(output) - 1
        yield self._event("response.output_item.added", output_index=index,
                          item={**item, "arguments": "", "status": "in_progress"})
        yield self._event("response.function_call_arguments.delta", item_id=item["id"], output_index=index,
                          delta=item["arguments"])
        yield self._event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                          arguments=item["arguments"])
        yield self._event("response.output_item.done", output_index=index, item=item)


def _message(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {"id": item_id, "type": "message", "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}


def _function_call(call: dict[str, Any]) -> dict[str, Any]:
    """A chat tool call as a Responses ``function_call`` item."""
    return {"id": f"fc_{uuid.uuid4().hex}", "type": "function_call", "status": "completed", "call_id": call["id"],
            "name": call["function"]["name"], "arguments": call["function"]["arguments"]}


def _status(finish: Finish) -> str:
    return "incomplete" if finish.reason == "length" else "completed"


def _error_event(error: Any) -> dict[str, Any]:
    """The Responses stream's error event of an error met after it began."""
    return {"type": "error", "code": error.code, "message": error.message, "param": error.param}
