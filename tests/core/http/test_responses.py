"""OpenAI's Responses API (`client.responses`, the OpenAI Agents SDK's default) through the openai client: answered
as the chat route answers the same conversation, whole and as typed events, held to a schema, calling functions and
reading their results back, and what it cannot do refused; SmolLM2 served."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest

from .conftest import CHAT as MODEL

QUESTION = "What is the capital of France?"
WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                          "additionalProperties": False}}


def _chat(client: Any, messages: list[dict[str, Any]], **fields: Any) -> Any:
    return client.chat.completions.create(model=MODEL, messages=messages, **fields)


def test_a_response_is_the_chat_routes_answer_whole_and_streamed(chat_client: Any) -> None:
    done = chat_client.responses.create(model=MODEL, input=QUESTION, instructions="Answer in one sentence.",
                                        max_output_tokens=16)
    chat = _chat(chat_client, [{"role": "system", "content": "Answer in one sentence."},
                               {"role": "user", "content": QUESTION}], max_tokens=16)
    assert done.status == "completed" and done.output_text == chat.choices[0].message.content
    assert done.output[0].type == "message" and done.output[0].role == "assistant"
    assert done.usage.input_tokens == chat.usage.prompt_tokens and done.usage.output_tokens == chat.usage.completion_tokens
    events = list(chat_client.responses.create(model=MODEL, input=QUESTION, instructions="Answer in one sentence.",
                                               max_output_tokens=16, stream=True))
    kinds = [e.type for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == done.output_text
    assert events[-1].response.output_text == done.output_text and events[-1].response.usage.output_tokens > 0


def test_message_items_and_text_parts_read_as_the_chat_messages(chat_client: Any) -> None:
    items = [{"role": "user", "content": [{"type": "input_text", "text": "My name is Ada."}]},
             {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello Ada!"}]},
             {"role": "user", "content": "What is my name?"}]
    done = chat_client.responses.create(model=MODEL, input=items, max_output_tokens=12)
    chat = _chat(chat_client, [{"role": "user", "content": "My name is Ada."},
                               {"role": "assistant", "content": "Hello Ada!"},
                               {"role": "user", "content": "What is my name?"}], max_tokens=12)
    assert done.output_text == chat.choices[0].message.content


def test_a_cut_answer_is_incomplete(chat_client: Any) -> None:
    done = chat_client.responses.create(model=MODEL, input="Write a long poem about the sea.", max_output_tokens=3)
    assert done.status == "incomplete" and done.incomplete_details.reason == "max_output_tokens"
    events = list(chat_client.responses.create(model=MODEL, input="Write a long poem about the sea.",
                                               max_output_tokens=3, stream=True))
    assert events[-1].type == "response.incomplete" and events[-1].response.status == "incomplete"


def test_text_format_holds_the_answer_to_a_schema(chat_client: Any) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
              "additionalProperties": False}
    done = chat_client.responses.create(model=MODEL, input=QUESTION, max_output_tokens=40,
                                        text={"format": {"type": "json_schema", "name": "answer", "schema": schema}})
    assert set(json.loads(done.output_text)) == {"city"}


def test_a_function_is_called_and_its_result_read_back(chat_client: Any) -> None:
    ask = "What is the weather in Paris?"
    done = chat_client.responses.create(model=MODEL, input=ask, tools=[WEATHER], max_output_tokens=30,
                                        tool_choice={"type": "function", "name": "get_weather"})
    (call,) = done.output
    assert call.type == "function_call" and call.name == "get_weather" and set(json.loads(call.arguments)) == {"city"}
    events = list(chat_client.responses.create(model=MODEL, input=ask, tools=[WEATHER], max_output_tokens=30,
                                               tool_choice={"type": "function", "name": "get_weather"}, stream=True))
    (streamed,) = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert streamed.arguments == call.arguments and events[-1].response.output[0].name == "get_weather"
    follow = [{"role": "user", "content": ask}, call.model_dump(include={"type", "call_id", "name", "arguments"}),
              {"type": "function_call_output", "call_id": call.call_id, "output": '{"sky": "sunny", "c": 21}'}]
    answer = chat_client.responses.create(model=MODEL, input=follow, max_output_tokens=20)
    chat = _chat(chat_client, [{"role": "user", "content": ask},
                               {"role": "assistant", "content": None, "tool_calls": [
                                   {"id": call.call_id, "type": "function",
                                    "function": {"name": call.name, "arguments": call.arguments}}]},
                               {"role": "tool", "tool_call_id": call.call_id, "content": '{"sky": "sunny", "c": 21}'}],
                 max_tokens=20)
    assert answer.output_text == chat.choices[0].message.content


@pytest.mark.parametrize(("fields", "said"), [
    ({"conversation": "conv_1"}, "keeps no conversations: send the conversation so far in 'input'"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]}, "read text only"),
    ({"tools": [{"type": "web_search"}]}, "this server calls functions only"),
    ({"input": ""}, "'input' must be a non-empty string or a list of items"),
    ({"max_output_tokens": 0}, "'max_output_tokens' must be from 1"),
    ({"text": {"format": {"type": "xml"}}}, "'text.format.type' must be"),
    ({"input": [{"role": "wizard", "content": "hi"}]}, "'input[0].role' must be one of system, developer, user"),
    ({"tools": [{"type": "function"}]}, "'tools[0]' must name its function"),
    ({"input": "x" * 100_001}, "'input' has more than 100000 characters"),
])
def test_what_it_cannot_do_is_a_400_that_says_why(chat_url: str, fields: dict[str, Any], said: str) -> None:
    answer = httpx.post(f"{chat_url}/v1/responses", json={"model": MODEL, "input": QUESTION, **fields})
    assert answer.status_code == 400 and said in answer.json()["error"]["message"]


def test_a_kept_response_is_gone_on_from_by_its_id(chat_client: Any) -> None:
    """`previous_response_id` (the Agents SDK's and LangChain's way to keep a conversation on the server) was a 400;
    the chain's items come before the new input, the earlier instructions do not (as OpenAI does)."""
    import openai

    first = chat_client.responses.create(model=MODEL, input="My name is Ada.", instructions="Be brief.",
                                         max_output_tokens=12)
    second = chat_client.responses.create(model=MODEL, input="What is my name?", previous_response_id=first.id,
                                          max_output_tokens=12)
    said = [{"role": "user", "content": "My name is Ada."},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": first.output_text}]},
            {"role": "user", "content": "What is my name?"}]
    whole = chat_client.responses.create(model=MODEL, input=said, max_output_tokens=12, store=False)
    assert first.store and second.previous_response_id == first.id and not whole.store
    assert second.output_text == whole.output_text and second.usage.input_tokens == whole.usage.input_tokens
    assert chat_client.responses.retrieve(first.id).output_text == first.output_text
    events = list(chat_client.responses.create(model=MODEL, input="Say it again.", previous_response_id=second.id,
                                               max_output_tokens=8, stream=True))
    third = chat_client.responses.retrieve(events[-1].response.id)  # a streamed response is kept too
    assert third.output_text == events[-1].response.output_text and third.previous_response_id == second.id
    with pytest.raises(openai.NotFoundError, match="no response with id"):
        chat_client.responses.retrieve(whole.id)  # store false: not kept
    chat_client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError, match=f"no response with id '{first.id}'"):
        chat_client.responses.create(model=MODEL, input="And now?", previous_response_id=second.id)


def test_a_kept_responses_input_items_are_listed_a_page_at_a_time(chat_client: Any) -> None:
    """`client.responses.input_items.list` (how a client reads back what a kept response was asked) was a 404."""
    import openai

    said = [{"role": "user", "content": "My name is Ada."},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And yours?"}]}]
    first = chat_client.responses.create(model=MODEL, input=said, max_output_tokens=4)
    listed = chat_client.responses.input_items.list(first.id, order="asc").data
    assert [(item.role, item.content[0].text) for item in listed] == [("user", "My name is Ada."), ("user", "And yours?")]
    assert len({item.id for item in listed}) == 2
    paged = chat_client.responses.input_items.list(first.id, limit=1)  # newest first; the client follows the cursor
    followed = [item.content[0].text for item in itertools.islice(paged, 3)]
    assert paged.has_more and followed == ["And yours?", "My name is Ada."]
    second = chat_client.responses.create(model=MODEL, input="What is my name?", previous_response_id=first.id,
                                          max_output_tokens=4)
    assert [item.content[0].text for item in chat_client.responses.input_items.list(second.id)] == ["What is my name?"]
    with pytest.raises(openai.BadRequestError, match="'limit' must be a whole number from 1 to 100"):
        chat_client.responses.input_items.list(first.id, limit=101)
    with pytest.raises(openai.BadRequestError, match="'after' names no input item"):
        chat_client.responses.input_items.list(first.id, after="msg_elsewhere")
    with pytest.raises(openai.NotFoundError, match="no response with id"):
        chat_client.responses.input_items.list("resp_unknown")


def test_the_store_keeps_the_newest_and_chains_through_them() -> None:
    from latentstack.http.errors import HttpError
    from latentstack.http.responses_store import ResponseStore

    store = ResponseStore(limit=2)
    for i, previous in enumerate((None, "r0", "r1")):
        store.keep({"id": f"r{i}", "output": [{"said": i}]}, previous, [{"asked": i}])
    with pytest.raises(HttpError, match="no response with id 'r0'"):
        store.conversation("r2")  # its chain begins with a response no longer kept
    assert store.get("r2").items == [{"asked": 2}, {"said": 2}] and list(store.kept) == ["r1", "r2"]
    small = ResponseStore(limit_bytes=200)
    for i in range(3):
        small.keep({"id": f"r{i}", "output": [{"said": "x" * 60}]}, None, [])
    assert list(small.kept) == ["r2"] and small.size < 200  # the oldest go first once over the bytes
