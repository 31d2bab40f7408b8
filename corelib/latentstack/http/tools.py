"""OpenAI's tools: a call forced by ``tool_choice`` (``"required"`` or a named function), or left to the model
(``"auto"``, the default when tools are sent).

Every answer is held to a JSON schema (``GenerationConfig.json_schema``) and a system line
says what to write. Forced: a named function's ``parameters``, or, for ``"required"`` among
several tools, ``{"name", "arguments"}`` of one of them; the reply is OpenAI's ``tool_calls``
with ``finish_reason: "tool_calls"`` (what instructor's default mode and the openai client's
``pydantic_function_tool`` read). Auto, as llama.cpp serves models without a tool format of
their own: ``{"tool_call": {"name", "arguments"}}`` or ``{"response": "..."}``, the first a
tool call, the second the reply's text (streamed as it is written). A model without tool
training decides poorly; the docs give the measured rate. ``"none"`` answers in text as if
no tools were given. With ``parallel_tool_calls: true`` (sent; llama.cpp's default is one call, as
here) ``"auto"`` and ``"required"`` hold a call to ``{"tool_calls": [{"name", "arguments"}, ...]}``,
one call or more (at most ``MAX_CALLS``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import attrs

from latentstack.http import fields as f
from latentstack.http.errors import bad_request
from latentstack.http.json_text import StringReader

MAX_TOOLS = 32
MAX_CALLS = 8  # calls in one parallel answer: a small model may otherwise repeat one until max_tokens
RESPONSE = '{"response": "'  # how an auto answer that replies in text begins (the schema's fixed layout)

Spec = tuple[str, str, dict[str, Any]]  # a function's name, description and parameters


@attrs.frozen
class ToolUse:
    """The tools a request offers: their names, the schema of the answer, the line that tells the model, and whether
    the model may reply in text instead (``auto``)."""

    names: tuple[str, ...]  # forced, one, not parallel: its arguments are the whole answer; else {"name", ...}
    schema: str
    hint: str
    auto: bool = False
    parallel: bool = False

    def prompt(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        """``messages`` with the hint at the end of the system message (or as one, first)."""
        if messages and messages[0]["role"] == "system":
            return [{"role": "system", "content": f"{messages[0]['content']}\n\n{self.hint}"}, *messages[1:]]
        return [{"role": "system", "content": self.hint}, *messages]

    def message(self, answer: str) -> dict[str, Any]:
        """OpenAI's assistant message of a whole answer: a tool call, or (auto) the text of a reply. An answer cut by
        max_tokens is sent as written (its finish_reason says 'length')."""
        if self.auto and answer.startswith(RESPONSE):  # whole or cut, the text written so far
            return {"role": "assistant", "content": StringReader().read(answer[len(RESPONSE):])}
        calls = self.calls(answer)
        if calls is None:
            return {"role": "assistant", "content": answer}
        return {"role": "assistant", "content": None, "tool_calls": calls}

    def calls(self, answer: str) -> list[dict[str, Any]] | None:
        """OpenAI's tool calls of an answer (arguments as JSON text, as OpenAI sends them). An answer cut by
        max_tokens is one call of no name with the text as it is (``auto``: None, the text is the reply)."""
        if not self.auto and not self.parallel and len(self.names) == 1:
            return [_call(self.names[0], answer)]
        try:
            parsed = json.loads(answer)
            written = parsed["tool_calls"] if self.parallel else [parsed.get("tool_call", parsed)]
            return [_call(str(c["name"]), c["arguments"]) for c in written]
        except (ValueError, KeyError, TypeError, AttributeError):
            return None if self.auto else [_call("", answer)]


def _call(name: str, arguments: Any) -> dict[str, Any]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function", "function": {"name": name, "arguments": text}}


def _function(tool: Any, i: int) -> Spec:
    """(name, description, parameters) of ``tools[i]``."""
    function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
        raise bad_request(f"'tools[{i}]' must be {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}", "tools")
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    if not isinstance(parameters, dict):
        raise bad_request(f"'tools[{i}].function.parameters' must be a JSON schema (an object)", "tools")
    return function["name"], str(function.get("description") or ""), parameters


def tool_use(body: dict[str, Any]) -> ToolUse | None:
    """What ``tools`` and ``tool_choice`` ask of the answer, or None when it is plain text (no tools, or "none")."""
    tools = f.field(body, "tools", list, [])
    choice = body.get("tool_choice")
    if not tools:
        if choice not in (None, "none", "auto"):
            raise bad_request("'tool_choice' asks for a tool call but 'tools' is empty", "tool_choice")
        return None
    if len(tools) > MAX_TOOLS:
        raise bad_request(f"'tools' holds {len(tools)} tools; at most {MAX_TOOLS}", "tools")
    specs = [_function(t, i) for i, t in enumerate(tools)]
    names = [name for name, _, _ in specs]
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise bad_request(f"'tools' names {', '.join(twice)} more than once: give each function once", "tools")
    if choice == "none":
        return None
    parallel = f.field(body, "parallel_tool_calls", bool, False)
    if choice in (None, "auto"):
        return _auto(specs, parallel)
    if choice == "required":
        return _parallel(specs) if parallel else _forced(specs)
    named = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    found = [s for s in specs if s[0] == named]
    if not found:
        raise bad_request("'tool_choice' is \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": "
                          "{\"name\": ...}} naming one of 'tools'", "tool_choice")
    return _forced(found)


def held_to_tools(options: Any, tools: ToolUse, scored: int | None, shaped_by: str = "response_format") -> Any:
    """``options`` (a GenerationConfig) holding the answer to the tools' schema; a 400 beside log-probabilities or
    another schema (asked for in the field ``shaped_by``)."""
    if scored is not None:
        raise bad_request("'logprobs' with tools is not supported: ask for one or the other", "logprobs")
    if options.json_schema:
        raise bad_request(f"'{shaped_by}' and tools both shape the answer: send one of them", shaped_by)
    return attrs.evolve(options, json_schema=tools.schema)


def _calls(specs: list[Spec]) -> dict[str, Any]:
    """The schema of ``{"name", "arguments"}`` of one of ``specs``."""
    calls = [{"type": "object", "properties": {"name": {"const": n}, "arguments": p}, "required": ["name", "arguments"],
              "additionalProperties": False} for n, _, p in specs]
    return calls[0] if len(calls) == 1 else {"anyOf": calls}


def _listed(specs: list[Spec]) -> str:
    return "; ".join(f"{n} ({d})" if d else n for n, d, _ in specs)


def _forced(specs: list[Spec]) -> ToolUse:
    """The call among ``specs`` a request forces: one function's arguments, or one of several as {"name",
    "arguments"}."""
    if len(specs) == 1:
        name, description, parameters = specs[0]
        hint = f"Reply with the arguments of the function {name} as JSON" + (f" ({description})" if description else "")
        return ToolUse((name,), json.dumps(parameters), hint + ".")
    hint = f'Reply with a call of one of these functions as JSON {{"name": ..., "arguments": {{...}}}}: {_listed(specs)}.'
    return ToolUse(tuple(n for n, _, _ in specs), json.dumps(_calls(specs)), hint)


def _several(specs: list[Spec]) -> dict[str, Any]:
    """The schema of ``{"tool_calls": [...]}``, one to ``MAX_CALLS`` calls of ``specs``."""
    calls = {"type": "array", "items": _calls(specs), "minItems": 1, "maxItems": MAX_CALLS}
    return {"type": "object", "properties": {"tool_calls": calls}, "required": ["tool_calls"],
            "additionalProperties": False}


def _parallel(specs: list[Spec]) -> ToolUse:
    """One call or more among ``specs``, forced ("required" with ``parallel_tool_calls``)."""
    hint = ('Reply with the calls to make as JSON {"tool_calls": [{"name": ..., "arguments": {...}}, ...]}, '
            f'one call or more, of these functions: {_listed(specs)}.')
    return ToolUse(tuple(n for n, _, _ in specs), json.dumps(_several(specs)), hint, parallel=True)


def _auto(specs: list[Spec], parallel: bool) -> ToolUse:
    """A call of one of ``specs`` (or, ``parallel``, one or more) or a reply in text, as the model decides."""
    reply = {"type": "object", "properties": {"response": {"type": "string"}}, "required": ["response"],
             "additionalProperties": False}
    if parallel:
        calls = _several(specs)
        form = '{"tool_calls": [{"name": ..., "arguments": {...}}, ...]} to call one or more of these functions'
    else:
        calls = {"type": "object", "properties": {"tool_call": _calls(specs)}, "required": ["tool_call"],
                 "additionalProperties": False}
        form = '{"tool_call": {"name": ..., "arguments": {...}}} to call one of these functions'
    hint = f'Respond in JSON, either with {form}: {_listed(specs)}; or with {{"response": "..."}} to reply to the user.'
    return ToolUse(tuple(n for n, _, _ in specs), json.dumps({"anyOf": [calls, reply]}), hint, auto=True,
                   parallel=parallel)
