"""Structured answers over HTTP: OpenAI's ``response_format`` (json_object, json_schema) and Ollama's ``format``
(``"json"``, a schema) through the openai and ollama packages, SmolLM2 served on a loopback port."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import CHAT as MODEL

SMS = "WINNER!! You have won a 1000 GBP prize. Call 09061701461 now to claim."
LABEL = {"type": "object", "properties": {"label": {"enum": ["spam", "ham"]}}, "required": ["label"],
         "additionalProperties": False}
ASK = [{"role": "user", "content": f"Is this text message spam or ham? {SMS}"}]


def test_openai_json_schema_and_json_object(chat_client: Any) -> None:
    held = chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=20, response_format={
        "type": "json_schema", "json_schema": {"name": "verdict", "schema": LABEL, "strict": True}})
    assert json.loads(held.choices[0].message.content)["label"] in ("spam", "ham")
    free = chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=20)
    with pytest.raises(ValueError):
        json.loads(free.choices[0].message.content)
    anything = chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=60,
                                                   response_format={"type": "json_object"})
    if anything.choices[0].finish_reason == "stop":  # a cut answer is marked 'length', and may not parse
        assert isinstance(json.loads(anything.choices[0].message.content), dict)
    chunks = list(chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=20, stream=True,
                                                      response_format={"type": "json_schema",
                                                                       "json_schema": {"name": "v", "schema": LABEL}}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == held.choices[0].message.content


def test_openai_client_parses_into_a_pydantic_model(chat_client: Any) -> None:
    """The openai client's ``parse`` sends the model's schema and reads the answer back into it."""
    from typing import Literal

    from pydantic import BaseModel

    class Verdict(BaseModel):
        label: Literal["spam", "ham"]

    parsed = chat_client.chat.completions.parse(model=MODEL, messages=ASK, max_tokens=20, response_format=Verdict)
    assert parsed.choices[0].message.parsed.label in ("spam", "ham")


def test_ollama_format_json_and_schema(chat_url: str) -> None:
    from ollama import Client

    ollama = Client(host=chat_url)
    held = ollama.chat(model=MODEL, messages=ASK, format=LABEL, options={"num_predict": 20})
    assert json.loads(held.message.content)["label"] in ("spam", "ham")
    parts = list(ollama.generate(model=MODEL, prompt=ASK[0]["content"], format=LABEL, stream=True,
                                 options={"num_predict": 20}))
    assert "".join(p.response for p in parts) == held.message.content
    loose = ollama.chat(model=MODEL, messages=ASK, format="json", options={"num_predict": 60})
    if loose.done_reason == "stop":
        assert isinstance(json.loads(loose.message.content), dict)


@pytest.mark.parametrize(("body", "words"), [
    ({"response_format": {"type": "yaml"}}, "'response_format.type' must be"),
    ({"response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "nope"}}}},
     "the JSON schema cannot be followed"),
    ({"response_format": "json"}, "'response_format' must be an object"),
])
def test_bad_response_formats_are_400s(chat_url: str, body: dict[str, Any], words: str) -> None:
    import httpx

    sent = httpx.post(f"{chat_url}/v1/chat/completions", json={"messages": ASK, "max_tokens": 4, **body}, timeout=60)
    assert sent.status_code == 400 and words in sent.json()["error"]["message"], sent.text


def test_ollama_bad_format_is_a_400(chat_url: str) -> None:
    import httpx

    sent = httpx.post(f"{chat_url}/api/chat", json={"model": MODEL, "messages": ASK, "format": "xml", "stream": False},
                      timeout=60)
    assert sent.status_code == 400 and "'format' is \"json\" or a JSON schema" in sent.json()["error"]


TREE = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}}, "required": ["kids"]}


def test_an_answer_cut_by_its_budget_says_length_and_the_tokens_it_used(chat_client: Any, chat_url: str) -> None:
    """SmolLM2 keeps opening a nested schema until its 40 tokens are spent. The finish reason and the usage were
    read from the text written afresh, which takes fewer tokens (' [{' is one; the decoder took ' ', '[' and
    '{"'): 'stop' and 32 tokens for JSON cut mid-value, which the openai client's ``parse`` then failed to read.
    Now they are the decoder's own count, on every route."""
    import openai
    from ollama import Client

    tree = {"type": "json_schema", "json_schema": {"name": "tree", "schema": TREE}}
    ask = [{"role": "user", "content": "Write a deep tree."}]
    whole = chat_client.chat.completions.create(model=MODEL, messages=ask, max_tokens=40, response_format=tree)
    assert whole.choices[0].finish_reason == "length" and whole.usage.completion_tokens == 40
    with pytest.raises(ValueError):
        json.loads(whole.choices[0].message.content)
    chunks = list(chat_client.chat.completions.create(model=MODEL, messages=ask, max_tokens=40, response_format=tree,
                                                      stream=True, stream_options={"include_usage": True}))
    assert chunks[-2].choices[0].finish_reason == "length" and chunks[-1].usage.completion_tokens == 40
    with pytest.raises(openai.LengthFinishReasonError):
        chat_client.chat.completions.parse(model=MODEL, messages=ask, max_tokens=40, response_format=tree)
    done = Client(host=chat_url).chat(model=MODEL, messages=ask, format=TREE, options={"num_predict": 40})
    assert done.done_reason == "length" and done.eval_count == 40
    small = chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=40, response_format={
        "type": "json_schema", "json_schema": {"name": "verdict", "schema": LABEL}}, logprobs=True)
    assert small.choices[0].finish_reason == "stop"  # the value closed first
    assert small.usage.completion_tokens == len(small.choices[0].logprobs.content)
