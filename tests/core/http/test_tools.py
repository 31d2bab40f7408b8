"""Tool calls through the openai client: forced (a named function's arguments, one of several under "required")
or left to the model ("auto"), whole and streamed, a conversation that carries the call and its result back, and
what is refused; SmolLM2 served."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from .conftest import CHAT as MODEL

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                   "additionalProperties": False}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "The local time in a time zone",
    "parameters": {"type": "object", "properties": {"zone": {"enum": ["UTC", "CET"]}}, "required": ["zone"],
                   "additionalProperties": False}}}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]
NAMED = {"type": "function", "function": {"name": "get_weather"}}


def test_a_named_function_is_called_with_arguments_that_match_it(chat_client: Any) -> None:
    done = chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=30, tools=[WEATHER, TIME],
                                               tool_choice=NAMED)
    choice = done.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_") and call.function.name == "get_weather"
    assert set(json.loads(call.function.arguments)) == {"city"}
    chunks = list(chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=30, tools=[WEATHER, TIME],
                                                      tool_choice=NAMED, stream=True))
    streamed = [t for c in chunks if c.choices for t in (c.choices[0].delta.tool_calls or [])]
    assert [t.function.name for t in streamed] == ["get_weather"]
    assert streamed[0].function.arguments == call.function.arguments
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_the_openai_clients_pydantic_tool_is_parsed_back(chat_client: Any) -> None:
    """``pydantic_function_tool`` and ``parse``, as instructor-style extraction sends them: the arguments come back
    as the pydantic model."""
    import openai
    from pydantic import BaseModel

    class GetWeather(BaseModel):
        city: str

    done = chat_client.chat.completions.parse(
        model=MODEL, messages=ASK, max_tokens=30, tools=[openai.pydantic_function_tool(GetWeather)],
        tool_choice={"type": "function", "function": {"name": "GetWeather"}})
    parsed = done.choices[0].message.tool_calls[0].function.parsed_arguments
    assert isinstance(parsed, GetWeather) and parsed.city


def test_required_among_several_calls_one_of_them(chat_client: Any) -> None:
    done = chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=40, tools=[WEATHER, TIME],
                                               tool_choice="required")
    (call,) = done.choices[0].message.tool_calls
    arguments = json.loads(call.function.arguments)
    assert (call.function.name, set(arguments)) in (("get_weather", {"city"}), ("get_time", {"zone"}))


def test_a_conversation_carries_the_call_and_its_result_back(chat_client: Any) -> None:
    """The client sends the assistant's tool call (content null) and the tool's result; the model answers in text."""
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    messages = [*ASK, {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 24 degrees."}]
    done = chat_client.chat.completions.create(model=MODEL, messages=messages, max_tokens=30, tools=[WEATHER],
                                               tool_choice="none")
    assert done.choices[0].message.content and done.choices[0].finish_reason in ("stop", "length")
    assert done.choices[0].message.tool_calls is None


def test_auto_calls_a_tool_or_replies_in_text(chat_client: Any) -> None:
    """Left to decide (the default with tools), SmolLM2 calls get_weather for the weather and writes a haiku as
    text; a streamed text reply arrives in pieces as it is written, the same text as whole."""
    done = chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=40, tools=[WEATHER, TIME])
    (call,) = done.choices[0].message.tool_calls
    assert done.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    haiku = [{"role": "user", "content": "Write a haiku about the sea."}]
    text = chat_client.chat.completions.create(model=MODEL, messages=haiku, max_tokens=60, tools=[WEATHER],
                                               tool_choice="auto")
    reply = text.choices[0].message
    assert reply.tool_calls is None and text.choices[0].finish_reason == "stop"
    assert reply.content and not reply.content.startswith("{")
    chunks = list(chat_client.chat.completions.create(model=MODEL, messages=haiku, max_tokens=60, tools=[WEATHER],
                                                      stream=True))
    said = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(said) > 3 and "".join(said) == reply.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    streamed_call = list(chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=40,
                                                             tools=[WEATHER, TIME], stream=True))
    calls = [t for c in streamed_call if c.choices for t in (c.choices[0].delta.tool_calls or [])]
    assert [t.function.name for t in calls] == ["get_weather"] and calls[0].function.arguments == call.function.arguments
    assert streamed_call[-1].choices[0].finish_reason == "tool_calls"


def test_an_auto_reply_cut_by_max_tokens_is_its_text_so_far(chat_client: Any) -> None:
    haiku = [{"role": "user", "content": "Write a haiku about the sea."}]
    cut = chat_client.chat.completions.create(model=MODEL, messages=haiku, max_tokens=12, tools=[WEATHER])
    assert cut.choices[0].finish_reason == "length" and cut.choices[0].message.tool_calls is None
    assert cut.choices[0].message.content and '"' not in cut.choices[0].message.content[:1]
    chunks = list(chat_client.chat.completions.create(model=MODEL, messages=haiku, max_tokens=12, tools=[WEATHER],
                                                      stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == cut.choices[0].message.content


@pytest.mark.parametrize(("call", "words"), [
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "naming one of 'tools'"),
    ({"tool_choice": "required"}, "'tools' is empty"),
    ({"tools": [WEATHER, TIME, WEATHER]}, "'tools' names get_weather more than once"),
    ({"tools": [WEATHER], "tool_choice": NAMED, "logprobs": True}, "'logprobs' with tools"),
    ({"tools": [WEATHER], "tool_choice": NAMED, "response_format": {"type": "json_object"}}, "send one of them"),
    ({"tools": [WEATHER], "parallel_tool_calls": "yes"}, "parallel_tool_calls"),
])
def test_what_cannot_be_honoured_is_a_400(chat_client: Any, call: dict[str, Any], words: str) -> None:
    import openai

    with pytest.raises(openai.BadRequestError, match=re.escape(words)):
        chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=4, **call)


def test_parallel_tool_calls_asked_for_gives_one_call_or_more(chat_client: Any) -> None:
    """With ``parallel_tool_calls: true`` a call is ``{"tool_calls": [...]}``: each a call of one of the tools with
    arguments that match it, whole and streamed alike, each streamed call with its index."""
    ask = {"model": MODEL, "messages": ASK, "max_tokens": 60, "tools": [WEATHER, TIME], "tool_choice": "required",
           "parallel_tool_calls": True}
    done = chat_client.chat.completions.create(**ask)
    calls = done.choices[0].message.tool_calls
    assert done.choices[0].finish_reason == "tool_calls" and len(calls) >= 1
    keys = {"get_weather": {"city"}, "get_time": {"zone"}}
    assert all(set(json.loads(c.function.arguments)) == keys[c.function.name] for c in calls)
    assert len({c.id for c in calls}) == len(calls)
    chunks = list(chat_client.chat.completions.create(**ask, stream=True))
    streamed = [t for c in chunks if c.choices for t in (c.choices[0].delta.tool_calls or [])]
    assert [(t.index, t.function.name, t.function.arguments) for t in streamed] == [
        (i, c.function.name, c.function.arguments) for i, c in enumerate(calls)]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_a_parallel_answer_reads_back_as_its_calls() -> None:
    """The parallel schema's answers: several calls, a reply in text (auto), an answer cut by max_tokens."""
    from latentstack.http.tools import tool_use

    auto = tool_use({"tools": [WEATHER, TIME], "parallel_tool_calls": True})
    required = tool_use({"tools": [WEATHER, TIME], "tool_choice": "required", "parallel_tool_calls": True})
    assert auto is not None and required is not None and json.loads(auto.schema)["anyOf"][0]["required"] == [
        "tool_calls"]
    two = '{"tool_calls": [{"name": "get_time", "arguments": {"zone": "UTC"}}, ' \
          '{"name": "get_weather", "arguments": {"city": "Oslo"}}]}'
    for tools in (auto, required):
        calls = tools.message(two)["tool_calls"]
        assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
            ("get_time", {"zone": "UTC"}), ("get_weather", {"city": "Oslo"})]
    assert auto.message('{"response": "Hi \\"you\\""}') == {"role": "assistant", "content": 'Hi "you"'}
    assert auto.message(two[:40]) == {"role": "assistant", "content": two[:40]}
    (cut,) = required.message(two[:40])["tool_calls"]
    assert cut["function"] == {"name": "", "arguments": two[:40]}
    single = tool_use({"tools": [WEATHER, TIME], "parallel_tool_calls": False})
    assert single is not None and "tool_calls" not in single.schema
