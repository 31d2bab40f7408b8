"""OpenAI's tools with the call forced: ``tool_choice`` ``"required"`` or a named function.

The answer is held to a JSON schema (``GenerationConfig.json_schema``): a named function's
``parameters``, or, for ``"required"`` among several tools, ``{"name", "arguments"}`` of one
of them; a system line names the function(s) and their descriptions. The answer comes back
as OpenAI's ``tool_calls`` with ``finish_reason: "tool_calls"``, which is what clients that
extract structured data through a forced function call (instructor's default mode, the
openai client's ``pydantic_function_tool``) read. ``tool_choice: "auto"`` asks the model to
decide whether to call, which a model without tool training cannot be held to: it is a 400
saying what to send; ``"none"`` answers in text as if no tools were given.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import attrs

from latentstack.http import fields as f
from latentstack.http.errors import bad_request

MAX_TOOLS = 32


@attrs.frozen
class Forced:
    """The call a request forces: which functions, the schema of the answer, and the line that tells the model."""

    names: tuple[str, ...]  # one: its arguments are the whole answer; several: the answer is {"name", "arguments"}
    schema: str
    hint: str

    def prompt(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        """``messages`` with the hint at the end of the system message (or as one, first)."""
        if messages and messages[0]["role"] == "system":
            return [{"role": "system", "content": f"{messages[0]['content']}\n\n{self.hint}"}, *messages[1:]]
        return [{"role": "system", "content": self.hint}, *messages]

    def call(self, answer: str) -> dict[str, Any]:
        """OpenAI's tool call of an answer (its arguments as JSON text, as OpenAI sends them)."""
        name, arguments = self.names[0], answer
        if len(self.names) > 1:
            try:
                parsed = json.loads(answer)
                name, arguments = str(parsed["name"]), json.dumps(parsed["arguments"])
            except (ValueError, KeyError, TypeError):  # cut by max_tokens: the text as it is, finish_reason length
                name = ""
        return {"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                "function": {"name": name, "arguments": arguments}}


def _function(tool: Any, i: int) -> tuple[str, str, dict[str, Any]]:
    """(name, description, parameters) of ``tools[i]``."""
    function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
        raise bad_request(f"'tools[{i}]' must be {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}", "tools")
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    if not isinstance(parameters, dict):
        raise bad_request(f"'tools[{i}].function.parameters' must be a JSON schema (an object)", "tools")
    return function["name"], str(function.get("description") or ""), parameters


def forced_call(body: dict[str, Any]) -> Forced | None:
    """The call ``tools`` and ``tool_choice`` force, or None when the answer is text (no tools, or "none")."""
    tools = f.field(body, "tools", list, [])
    choice = body.get("tool_choice")
    if not tools:
        if choice not in (None, "none", "auto"):
            raise bad_request("'tool_choice' asks for a tool call but 'tools' is empty", "tool_choice")
        return None
    if len(tools) > MAX_TOOLS:
        raise bad_request(f"'tools' holds {len(tools)} tools; at most {MAX_TOOLS}", "tools")
    specs = [_function(t, i) for i, t in enumerate(tools)]
    if choice == "none":
        return None
    if choice in (None, "auto"):
        raise bad_request("'tool_choice' \"auto\" (the default with tools: the model deciding whether to call) is not "
                          "supported: send \"required\", or name the function "
                          "({\"type\": \"function\", \"function\": {\"name\": ...}})", "tool_choice")
    if choice == "required":
        return _forced(specs)
    named = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    found = [s for s in specs if s[0] == named]
    if not found:
        raise bad_request("'tool_choice' is \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": "
                          "{\"name\": ...}} naming one of 'tools'", "tool_choice")
    return _forced(found)


def _forced(specs: list[tuple[str, str, dict[str, Any]]]) -> Forced:
    """The Forced call among ``specs``: one function's arguments, or one of several as {"name", "arguments"}."""
    if len(specs) == 1:
        name, description, parameters = specs[0]
        hint = f"Reply with the arguments of the function {name} as JSON" + (f" ({description})" if description else "")
        return Forced((name,), json.dumps(parameters), hint + ".")
    calls = [{"type": "object", "properties": {"name": {"const": n}, "arguments": p}, "required": ["name", "arguments"],
              "additionalProperties": False} for n, _, p in specs]
    listed = "; ".join(f"{n} ({d})" if d else n for n, d, _ in specs)
    hint = f'Reply with a call of one of these functions as JSON {{"name": ..., "arguments": {{...}}}}: {listed}.'
    return Forced(tuple(n for n, _, _ in specs), json.dumps({"anyOf": calls}), hint)
