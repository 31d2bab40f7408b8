"""Reading request bodies field by field, with bounds: every mistake is a 400 that names the field."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from latentstack.http.errors import bad_request, too_large
from latentstack.logit_shifts import PENALTY_RANGE, logit_bias
from latentstack.textfile import SURROGATE_HELP, json_surrogate

MAX_BODY = 8 << 20  # bytes of one request body
MAX_INPUTS = 2048  # texts in one embeddings or classify request: OpenAI's limit, which clients batch up to
MAX_TEXT = 100_000  # characters of one text
MAX_TOKENS = 1024  # max_tokens of one chat completion
MAX_K = 50  # passages of one search or ask
MAX_MESSAGES = 64
MAX_CHOICES = 8  # choices of one request (``n``), decoded together where the generator can


def field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ..., ) -> Any:
    """``body[name]`` of the given type; missing (without a default) or of another type is a 400."""
    if name not in body or body[name] is None:
        if default is ...:
            raise bad_request(f"'{name}' is required", name)
        return default
    value = body[name]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise bad_request(f"'{name}' must be {_names(kind)}, not a boolean", name)
    if not isinstance(value, kind):
        raise bad_request(f"'{name}' must be {_names(kind)}, not {type(value).__name__}", name)
    return value


def one_of(body: dict[str, Any], name: str, served: Iterable[str]) -> str:
    """``body[name]``, a string; left out, the one served when the server serves exactly one."""
    names = list(served)
    if body.get(name) is None and len(names) == 1:
        return names[0]
    if body.get(name) is None:
        raise bad_request(f"'{name}' is required: one of {', '.join(names)}" if names else f"'{name}' is required", name)
    return str(field(body, name, str))


def _names(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({str: "a string", int: "an integer", float: "a number", list: "a list", bool: "a boolean",
                        dict: "an object"}.get(k, k.__name__) for k in kinds)


def bounded(body: dict[str, Any], name: str, kind: type | tuple[type, ...], low: float, high: float,
            default: Any) -> Any:
    """A number field within [low, high] (a None default stays None)."""
    value = field(body, name, kind, default)
    if value is not None and not low <= value <= high:
        raise bad_request(f"'{name}' must be from {low} to {high}, got {value}", name)
    return value


def only(body: dict[str, Any], route: str, names: tuple[str, ...]) -> None:
    """latentstack's own routes read these fields and no other: a misspelt one ("filter" for "where") is a 400
    rather than a request answered as if it were absent."""
    extra = sorted(set(body) - set(names))
    if extra:
        raise bad_request(f"{route} has no field {extra[0]!r}; its fields are {', '.join(names)}", extra[0])


#: OpenAI chat fields whose other values this server cannot honour, with the values it can (OpenAI's defaults):
#: a request asking for the deprecated functions is refused, never answered as if it had not asked (tools are
#: ``tools.py``'s).
CHAT_ONLY: dict[str, tuple[Any, ...]] = {
    "functions": ([],), "function_call": ("none", "auto"), "parallel_tool_calls": (True, False),
}


def _same(a: Any, b: Any) -> bool:
    """Equal, with booleans only equal to booleans (in Python ``True == 1``)."""
    return a is b if isinstance(a, bool) or isinstance(b, bool) else bool(a == b)


def unsupported(body: dict[str, Any], allowed: dict[str, tuple[Any, ...]]) -> None:
    """A 400 for a field given with a value outside ``allowed[field]`` (None counts as not given)."""
    for name, values in allowed.items():
        value = body.get(name)
        if value is not None and not any(_same(value, v) for v in values):
            shown = json.dumps(value)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise bad_request(f"'{name}': {shown} is not supported by this server; leave it out", name)


def texts(body: dict[str, Any], name: str = "input") -> list[str]:
    """A string or a list of strings, at most MAX_INPUTS of at most MAX_TEXT characters, none empty."""
    value = field(body, name, (str, list))
    items = [value] if isinstance(value, str) else value
    if not items:
        raise bad_request(f"'{name}' is an empty list: give at least one text", name)
    if len(items) > MAX_INPUTS:
        raise bad_request(f"'{name}' has {len(items)} texts; at most {MAX_INPUTS} a request", name)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise bad_request(f"'{name}[{i}]' must be a string (token arrays are not accepted: LangChain's "
                              "OpenAIEmbeddings sends them unless given check_embedding_ctx_length=False)", name)
        if not item.strip():
            raise bad_request(f"'{name}[{i}]' is empty", name)
        if len(item) > MAX_TEXT:
            raise bad_request(f"'{name}[{i}]' has {len(item)} characters; at most {MAX_TEXT}", name)
    return items


def messages(body: dict[str, Any]) -> list[dict[str, str]]:
    """Chat messages: a list of {role, content}, each content a string or a list of text parts (joined by
    newlines, as OpenAI-compatible servers do); ``developer`` (OpenAI's newer name for it) is a system message.
    A conversation that went through tool calls reads as text: an assistant's ``tool_calls`` as the calls' JSON,
    a ``tool`` message as the user's "Tool result: ..." (chat templates without tool roles take both)."""
    value = field(body, "messages", list)
    if not value or len(value) > MAX_MESSAGES:
        raise bad_request(f"'messages' must hold 1 to {MAX_MESSAGES} messages", "messages")
    out = []
    for i, m in enumerate(value):
        m = _tool_turn(m)
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), (str, list)):
            raise bad_request(f"'messages[{i}]' must be an object with string 'role' and 'content'", "messages")
        role = "system" if m["role"] == "developer" else m["role"]
        if role not in ("system", "user", "assistant"):
            raise bad_request(f"'messages[{i}].role' must be system (or developer), user, assistant or tool", "messages")
        content = _content(m["content"], f"messages[{i}].content")
        if len(content) > MAX_TEXT:
            raise bad_request(f"'messages[{i}].content' has more than {MAX_TEXT} characters", "messages")
        out.append({"role": role, "content": content})
    return out


def _tool_turn(m: Any) -> Any:
    """A tool call or a tool's result as a plain message (anything else as it is)."""
    if not isinstance(m, dict):
        return m
    if m.get("role") == "assistant" and m.get("content") in (None, "") and isinstance(m.get("tool_calls"), list):
        calls = [c.get("function") for c in m["tool_calls"] if isinstance(c, dict)]
        return {"role": "assistant", "content": "\n".join(json.dumps(c) for c in calls if isinstance(c, dict))}
    if m.get("role") == "tool" and isinstance(m.get("content"), (str, list)):
        content = m["content"] if isinstance(m["content"], str) else _content(m["content"], "messages[].content")
        return {"role": "user", "content": f"Tool result: {content}"}
    return m


def _content(value: str | list[Any], where: str) -> str:
    """A message's content as one string: the string itself, or its text parts joined by newlines."""
    from latentstack.content import content_text

    try:
        return content_text(value, where)
    except ValueError as exc:
        raise bad_request(str(exc), "messages") from exc


def stops(body: dict[str, Any]) -> tuple[str, ...]:
    """``stop``: a string or a list of up to 4 strings (OpenAI's limit)."""
    value = field(body, "stop", (str, list), [])
    items = [value] if isinstance(value, str) else value
    if len(items) > 4 or not all(isinstance(s, str) and s for s in items):
        raise bad_request("'stop' must be a string or a list of up to 4 non-empty strings", "stop")
    return tuple(items)


async def read_json(request: Any) -> dict[str, Any]:
    """The body as a JSON object, at most MAX_BODY bytes (also when no Content-Length was sent)."""
    buffer = bytearray()
    async for chunk in request.stream():
        buffer += chunk
        if len(buffer) > MAX_BODY:
            raise too_large(MAX_BODY)
    raw = bytes(buffer)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    found = json_surrogate(raw, body)
    if found:
        raise bad_request(f"a string in the body holds {found}, {SURROGATE_HELP}")
    return body


def generation(body: dict[str, Any]) -> Any:
    """The GenerationConfig of a chat or completion request (OpenAI's names; temperature 0 is greedy, the default
    here)."""
    from latentstack.interfaces import GenerationConfig

    return GenerationConfig(
        max_new_tokens=max_tokens(body),
        temperature=float(bounded(body, "temperature", (int, float), 0, 2, 0.0)),
        top_p=float(bounded(body, "top_p", (int, float), 1e-6, 1, 1.0)),
        top_k=max(0, bounded(body, "top_k", int, -1, MAX_TOP_K, 0)),  # vLLM's -1: all, as 0
        min_p=float(bounded(body, "min_p", (int, float), 0, 1, 0.0)),
        seed=field(body, "seed", int, None), stop=stops(body),
        repetition_penalty=float(bounded(body, "repetition_penalty", (int, float), 0.5, 2, 1.0)),
        presence_penalty=float(bounded(body, "presence_penalty", (int, float), *PENALTY_RANGE, 0.0)),
        frequency_penalty=float(bounded(body, "frequency_penalty", (int, float), *PENALTY_RANGE, 0.0)),
        logit_bias=biases(body), json_schema=response_schema(body))


#: The most tokens ``top_k`` may name (beyond, it is all of a small model's vocabulary anyway).
MAX_TOP_K = 1_000_000


def biases(body: dict[str, Any]) -> tuple[tuple[int, float], ...]:
    """``logit_bias``: token ids (as JSON's string keys) to biases from -100 to 100."""
    try:
        return logit_bias(field(body, "logit_bias", dict, {}))
    except ValueError as exc:
        raise bad_request(str(exc), "logit_bias") from None


def response_schema(body: dict[str, Any]) -> str:
    """``response_format``: text ('' , the default), ``json_object`` (any JSON object) or ``json_schema`` (its
    ``json_schema.schema``), as the JSON text of the schema the answer is held to."""
    value = field(body, "response_format", dict, {"type": "text"})
    kind = value.get("type")
    if kind == "text":
        return ""
    if kind == "json_object":
        return json.dumps({"type": "object"})
    if kind == "json_schema":
        schema = field(field(value, "json_schema", dict), "schema", dict, {})
        return json.dumps(schema or {"type": "object"})  # OpenAI's schema may be left out: any object
    raise bad_request("'response_format.type' must be 'text', 'json_object' or 'json_schema'", "response_format")


def max_tokens(body: dict[str, Any]) -> int:
    """``max_completion_tokens`` (OpenAI's current name) or ``max_tokens``; 256 when neither is given."""
    given = bounded(body, "max_tokens", int, 1, MAX_TOKENS, None)
    newer = bounded(body, "max_completion_tokens", int, 1, MAX_TOKENS, None)
    if given is not None and newer is not None and given != newer:
        raise bad_request("'max_tokens' and 'max_completion_tokens' differ: give one of them", "max_completion_tokens")
    return next((n for n in (newer, given) if n is not None), 256)
