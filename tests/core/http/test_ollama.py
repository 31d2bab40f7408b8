"""Ollama's API through Ollama's own Python client, against the served SmolLM2 and MiniLM on a loopback port: its
answers are the OpenAI routes' answers, streamed as JSON lines; what cannot be honoured is Ollama's error shape."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from latentstack.http.app import build_app
from latentstack.http.run import InThread
from latentstack.http.state import Served

CHAT = "smollm2-135m-instruct"
ASK = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def url(chat_url: str) -> str:
    return chat_url


def test_ollama_chat_and_generate_answer_as_the_openai_route_does(url: str) -> None:
    """The same greedy answer from /api/chat (whole and streamed), /api/generate and /v1/chat/completions; the
    last streamed object is done, with the reason and the token counts; ':latest' names the same model."""
    from ollama import Client
    from openai import OpenAI

    client = Client(host=url)
    openai_text = OpenAI(base_url=f"{url}/v1", api_key="unused").chat.completions.create(
        model=CHAT, messages=ASK, max_tokens=12).choices[0].message.content
    whole = client.chat(model=f"{CHAT}:latest", messages=ASK, stream=False, options={"num_predict": 12})
    assert whole.message.content == openai_text and "Paris" in openai_text
    assert whole.done and whole.done_reason in ("stop", "length") and whole.eval_count > 0 and whole.prompt_eval_count > 0
    parts = list(client.chat(model=CHAT, messages=ASK, stream=True, options={"num_predict": 12}))
    assert "".join(p.message.content for p in parts) == openai_text and len(parts) > 3
    assert parts[-1].done and not any(p.done for p in parts[:-1]) and parts[-1].eval_count == whole.eval_count
    generated = client.generate(model=CHAT, prompt=ASK[0]["content"], options={"num_predict": 12})
    assert generated.response == openai_text and generated.done
    loaded = client.generate(model=CHAT, prompt="")  # Ollama's way to load a model
    assert loaded.done and loaded.done_reason == "load" and loaded.response == ""
    chat_loaded = client.chat(model=CHAT, messages=[], stream=False)  # and a chat model's
    assert chat_loaded.done and chat_loaded.done_reason == "load" and chat_loaded.message.content == ""


def test_a_raw_generate_continues_the_prompt_as_token_ids_do(url: str) -> None:
    """``raw: true`` continues the prompt as the model's own text (no chat template), as /v1/completions continues
    the prompt's token ids; streamed alike; its prompt count is the raw prompt's tokens."""
    from ollama import Client

    client = Client(host=url)
    prompt = "The three primary colours are"
    ids = httpx.post(f"{url}/tokenize", json={"prompt": prompt, "add_special_tokens": False}).json()["tokens"]
    completion = httpx.post(f"{url}/v1/completions", json={"model": CHAT, "prompt": ids, "max_tokens": 10}).json()
    raw = client.generate(model=CHAT, prompt=prompt, raw=True, options={"num_predict": 10})
    assert raw.response == completion["choices"][0]["text"] and raw.prompt_eval_count == len(ids)
    parts = list(client.generate(model=CHAT, prompt=prompt, raw=True, stream=True, options={"num_predict": 10}))
    assert "".join(p.response for p in parts) == raw.response and parts[-1].done_reason == "length"
    templated = client.generate(model=CHAT, prompt=prompt, options={"num_predict": 10})
    assert templated.prompt_eval_count > len(ids)


def test_ollama_embed_gives_unit_vectors_of_the_openai_routes_direction(url: str) -> None:
    from ollama import Client

    client = Client(host=url)
    texts = ["A man is playing a guitar.", "Someone plays an instrument."]
    got = np.array(client.embed(model="minilm", input=texts).embeddings)
    raw = httpx.post(f"{url}/v1/embeddings", json={"model": "minilm", "input": texts}, timeout=60).json()["data"]
    theirs = np.array([d["embedding"] for d in raw])
    assert got.shape == (2, 384) and np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    cos = (got * theirs).sum(1) / np.linalg.norm(theirs, axis=1)
    assert cos.min() > 0.9999
    assert np.allclose(client.embeddings(model="minilm", prompt=texts[0]).embedding, theirs[0], atol=1e-5)


def test_ollama_lists_and_shows_the_served_models(url: str) -> None:
    from ollama import Client

    client = Client(host=url)
    names = {m.model for m in client.list().models}
    assert {CHAT, "minilm"} <= names
    assert "completion" in client.show(CHAT).capabilities and "embedding" in client.show("minilm").capabilities
    client.generate(model=CHAT, prompt="")  # loads the chat model
    (chat,) = [m for m in client.ps().models if m.model == CHAT]
    assert chat.context_length and chat.context_length >= 2048
    assert httpx.get(f"{url}/api/version", timeout=30).json()["version"]


def test_ollama_ps_lists_the_models_loaded_and_pull_finds_a_served_one(tiny_bert_dir: Path) -> None:
    """``ollama ps`` and ``ollama pull`` (Open WebUI and scripts call both): a model shows as running once a
    request loaded it; pulling a served model succeeds (whole and streamed) and another is a 404 saying why."""
    from ollama import Client, ResponseError

    running = InThread(build_app(Served(embedding_models={"tiny": str(tiny_bert_dir)})))
    try:
        client = Client(host=running.url)
        assert "tiny" not in {m.model for m in client.ps().models}
        client.embed(model="tiny", input="the cat sat")
        (shown,) = [m for m in client.ps().models if m.model == "tiny"]
        assert shown.expires_at is not None and shown.expires_at.year == 9999
        assert client.pull("tiny:latest").status == "success"
        assert [p.status for p in client.pull("tiny", stream=True)] == ["success"]
        with pytest.raises(ResponseError, match=r"model 'llama3' is not served, and this server downloads no model") as err:
            client.pull("llama3")
        assert err.value.status_code == 404
    finally:
        running.stop()


def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city's name.
    """
    return "sunny"


def test_ollama_tools_are_called_as_ollama_sends_them_back(url: str) -> None:
    """A Python function as a tool (the ``ollama`` client writes its schema): the weather question is answered with
    a call whose arguments are an object; a haiku is text, streamed in pieces; the call and its result sent back
    are read."""
    from ollama import Client

    client = Client(host=url)
    done = client.chat(model=CHAT, messages=[{"role": "user", "content": "What is the weather in Paris?"}],
                       tools=[get_weather], options={"num_predict": 40})
    (call,) = done.message.tool_calls
    assert call.function.name == "get_weather" and call.function.arguments == {"city": "Paris"}
    assert done.done_reason == "stop" and not done.message.content
    haiku = [{"role": "user", "content": "Write a haiku about the sea."}]
    pieces = list(client.chat(model=CHAT, messages=haiku, tools=[get_weather], stream=True, options={"num_predict": 60}))
    text = "".join(p.message.content or "" for p in pieces)
    assert len(pieces) > 4 and text and not text.startswith("{") and pieces[-1].done
    assert not any(p.message.tool_calls for p in pieces)
    back = [{"role": "user", "content": "What is the weather in Paris?"}, done.message,
            {"role": "tool", "content": "Sunny, 24 degrees.", "tool_name": "get_weather"}]
    assert client.chat(model=CHAT, messages=back, options={"num_predict": 20}).message.content


def test_what_ollama_cannot_be_given_here_is_its_error_shape(url: str) -> None:
    """An unknown model is a 404, thinking, tools beside a format, images and a system line beside a raw prompt a 400: each
    {"error": "..."} with a message that says what, as Ollama's clients read it."""
    from ollama import Client, ResponseError

    client = Client(host=url)
    cases = [(lambda: client.chat(model="llama3", messages=ASK), 404, "unknown chat model 'llama3'"),
             (lambda: client.chat(model=CHAT, messages=ASK, think=True), 400, "'think'"),
             (lambda: client.chat(model=CHAT, messages=ASK, tools=[{"type": "function", "function": {
                 "name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}}}], format="json"),
              400, "'format' and tools both shape the answer"),
             (lambda: client.generate(model=CHAT, prompt="Hi", raw=True, system="Be brief."), 400, "'system' with 'raw'"),
             (lambda: client.chat(model=CHAT, messages=ASK, options={"num_predict": 5000}), 400, "'num_predict'"),
             (lambda: client.embed(model="nomic-embed-text", input="x"), 404, "unknown embedding model")]
    for call, status, said in cases:
        with pytest.raises(ResponseError) as err:
            call()
        assert err.value.status_code == status and said in str(err.value.error)
    wrong = httpx.post(f"{url}/api/chat", json={"model": CHAT, "messages": ASK, "options": {"temperature": 9}},
                       timeout=30)
    assert wrong.status_code == 400 and isinstance(wrong.json()["error"], str)


def test_a_chats_next_turn_counts_its_whole_prompt_and_those_a_kept_cache_held(url: str) -> None:
    """As Ollama counts them: ``prompt_eval_count`` the whole prompt, ``prompt_eval_cached_count`` the tokens read
    from the cache, streamed or not."""
    first = [{"role": "user", "content": "Name the colours of the rainbow, in order. " * 3}]
    one = httpx.post(f"{url}/api/chat", json={"model": CHAT, "messages": first, "stream": False,
                                              "options": {"num_predict": 6}}).json()
    follow = [*first, one["message"], {"role": "user", "content": "Which one is in the middle?"}]
    two = httpx.post(f"{url}/api/chat", json={"model": CHAT, "messages": follow, "stream": False,
                                              "options": {"num_predict": 6}}).json()
    assert one["prompt_eval_count"] <= two["prompt_eval_cached_count"] < two["prompt_eval_count"]
    lines = httpx.post(f"{url}/api/chat", json={"model": CHAT, "messages": follow,
                                                "options": {"num_predict": 6}}).text.splitlines()
    last = json.loads(lines[-1])
    assert last["done"] and last["prompt_eval_cached_count"] == two["prompt_eval_count"] - 1  # the same prompt again
