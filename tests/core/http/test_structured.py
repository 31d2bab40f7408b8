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
