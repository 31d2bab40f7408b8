"""A request to OpenAI's Responses API (``POST /v1/responses``) as the chat completion request it asks for.

``input`` (a string, or a list of items: messages whose content is a string or ``input_text``
/ ``output_text`` parts, ``function_call`` items and their ``function_call_output``) and
``instructions`` become the chat's messages; ``max_output_tokens``, ``text.format`` and the
flat function ``tools`` (and ``tool_choice``) become their chat names; the sampling fields are
the same. ``previous_response_id``'s conversation (``responses_store``) comes before ``input``;
``conversation`` objects are a 400 that says to send the conversation in ``input``, as are
built-in tools and parts the models cannot read.
"""

from __future__ import annotations

from typing import Any

from latentstack.http import fields as f
from latentstack.http.errors import bad_request

#: Fields the chat route reads under the same names.
SAME = ("temperature", "top_p", "top_k", "min_p", "seed", "stop", "repetition_penalty", "presence_penalty",
        "frequency_penalty", "logit_bias", "parallel_tool_calls", "tool_choice")
#: Fields that ask for a response this server cannot give, and what to do instead.
REFUSED = {
    "conversation": "this server keeps no conversations: send the conversation so far in 'input'",
    "prompt": "this server has no stored prompt templates: send the instructions and input themselves",
    "background": "this server answers in the request (or streams): leave 'background' out",
}
TEXT_PARTS = ("input_text", "output_text", "text")
ROLES = ("system", "developer", "user", "assistant")


def chat_body(body: dict[str, Any], history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The chat completion request of a Responses request (a 400 for what it cannot ask for), the input ``history``
    (the items of the responses it follows) before its own."""
    for name, why in REFUSED.items():
        if body.get(name) not in (None, False):
            raise bad_request(f"'{name}': {why}", name)
    chat: dict[str, Any] = {name: body[name] for name in SAME if name in body}
    earlier = [m for m in (_item(item, i) for i, item in enumerate(history or [])) if m is not None]
    chat["messages"] = _instructions(body) + earlier + _input(body)
    tokens = f.bounded(body, "max_output_tokens", int, 1, f.MAX_TOKENS, None)
    if tokens is not None:
        chat["max_tokens"] = tokens
    chat["response_format"] = _format(f.field(f.field(body, "text", dict, {}), "format", dict, {"type": "text"}))
    if body.get("tools"):
        chat["tools"] = [_tool(tool, i) for i, tool in enumerate(f.field(body, "tools", list))]
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str):
        chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    return chat


def input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's ``input`` as a list of items (a string: one user message), as a kept response holds it."""
    value = body.get("input")
    return [{"type": "message", "role": "user", "content": value}] if isinstance(value, str) else list(value or [])


def _instructions(body: dict[str, Any]) -> list[dict[str, Any]]:
    text = f.field(body, "instructions", str, "")
    return [{"role": "system", "content": text}] if text else []


def _input(body: dict[str, Any]) -> list[dict[str, Any]]:
    """``input`` as chat messages: a string is the user's message; items in order (reasoning items skipped)."""
    value = body.get("input")
    if isinstance(value, str) and value:
        return [{"role": "user", "content": _bounded(value, "input")}]
    if not isinstance(value, list) or not value:
        raise bad_request("'input' must be a non-empty string or a list of items (messages, function calls and "
                          "their outputs)", "input")
    messages = [_item(item, i) for i, item in enumerate(value)]
    return [m for m in messages if m is not None]


def _item(item: Any, i: int) -> dict[str, Any] | None:
    """One input item as a chat message (None for a reasoning item, which a client may send back)."""
    kind = item.get("type", "message") if isinstance(item, dict) else None
    if kind == "message" and isinstance(item.get("role"), str):
        if item["role"] not in ROLES:
            raise bad_request(f"'input[{i}].role' must be one of {', '.join(ROLES)}, got {item['role']!r:.40}", "input")
        return {"role": item["role"], "content": _bounded(_content(item.get("content"), i), f"input[{i}].content")}
    if kind == "function_call" and all(isinstance(item.get(k), str) for k in ("call_id", "name", "arguments")):
        call = {"id": item["call_id"], "type": "function",
                "function": {"name": item["name"], "arguments": item["arguments"]}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    if kind == "function_call_output" and isinstance(item.get("output"), str):
        return {"role": "tool", "tool_call_id": item.get("call_id"), "content": item["output"]}
    if kind == "reasoning":
        return None
    raise bad_request(f"'input[{i}]' must be a message ({{\"role\", \"content\"}}), a function_call (call_id, name, "
                      f"arguments) or a function_call_output (call_id, output), got {str(kind or item)!r:.60}", "input")


def _bounded(text: str, where: str) -> str:
    if len(text) > f.MAX_TEXT:
        raise bad_request(f"'{where}' has more than {f.MAX_TEXT} characters", "input")
    return text


def _content(value: Any, i: int) -> str:
    """A message's content: a string, or its text parts joined by newlines; another part is refused naming it."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list) or not value:
        raise bad_request(f"'input[{i}].content' must be a string or a list of input_text parts", "input")
    texts = []
    for j, part in enumerate(value):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in TEXT_PARTS and isinstance(part.get("text"), str):
            texts.append(part["text"])
        else:
            raise bad_request(f"'input[{i}].content[{j}]' is a part of type {kind!r:.40}; the chat models read text "
                              "only (input_text)", "input")
    return "\n".join(texts)


def _format(value: dict[str, Any]) -> dict[str, Any]:
    """``text.format`` as the chat's ``response_format`` (the Responses API puts the schema in the format itself)."""
    kind = value.get("type")
    if kind in ("text", "json_object"):
        return {"type": kind}
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"schema": f.field(value, "schema", dict, {})}}
    raise bad_request("'text.format.type' must be 'text', 'json_object' or 'json_schema'", "text")


def _tool(tool: Any, i: int) -> dict[str, Any]:
    """A flat Responses function tool as the chat's ``{"type": "function", "function": {...}}``."""
    kind = tool.get("type") if isinstance(tool, dict) else None
    if kind != "function":
        raise bad_request(f"'tools[{i}]' is a {kind!r:.40} tool; this server calls functions only "
                          "({\"type\": \"function\", \"name\", \"parameters\"})", "tools")
    if not isinstance(tool.get("name"), str) or not tool["name"]:
        raise bad_request(f"'tools[{i}]' must name its function: {{\"type\": \"function\", \"name\": ..., "
                          "\"parameters\": {...}}", "tools")
    return {"type": "function", "function": {k: tool[k] for k in ("name", "description", "parameters") if k in tool}}
