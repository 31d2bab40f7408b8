"""Log-probabilities over HTTP through the openai and ollama packages: chat (whole and streamed), legacy
completions, Ollama's chat and generate, and the requests refused, with SmolLM2 served on a loopback port."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from latentstack.http.app import build_app
from latentstack.http.run import InThread
from latentstack.http.state import Served

MODEL = "smollm2-135m-instruct"
ASK = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    running = InThread(build_app(Served(generator="llm", generator_options={"model": MODEL})))
    yield running.url
    running.stop()


@pytest.fixture(scope="module")
def client(url: str) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=f"{url}/v1", api_key="unused")


def test_chat_logprobs_spell_the_answer_with_the_best_alternatives(client: Any) -> None:
    plain = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)
    scored = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, logprobs=True, top_logprobs=3)
    content = scored.choices[0].logprobs.content
    text = scored.choices[0].message.content
    assert text == plain.choices[0].message.content and plain.choices[0].logprobs is None
    assert b"".join(bytes(t.bytes) for t in content).decode() == text
    for t in content:  # greedy: the chosen token is the likeliest, and the alternatives come best first
        assert [a.token for a in t.top_logprobs][0] == t.token and len(t.top_logprobs) == 3
        assert t.logprob <= 0 and sorted((a.logprob for a in t.top_logprobs), reverse=True) == \
            [a.logprob for a in t.top_logprobs]
    assert sum(math.exp(a.logprob) for a in content[0].top_logprobs) <= 1 + 1e-6
    only = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, logprobs=True)
    assert [t.token for t in only.choices[0].logprobs.content] == [t.token for t in content]
    assert all(t.top_logprobs == [] for t in only.choices[0].logprobs.content)


def test_streamed_chat_logprobs_are_the_whole_answers(client: Any) -> None:
    whole = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, logprobs=True, top_logprobs=2)
    chunks = list(client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, logprobs=True,
                                                 top_logprobs=2, stream=True))
    streamed = [t for c in chunks if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content]
    assert [(t.token, t.logprob) for t in streamed] == \
        [(t.token, t.logprob) for t in whole.choices[0].logprobs.content]
    for c in chunks:  # each chunk carries the tokens of its own text
        if c.choices and c.choices[0].delta.content:
            assert "".join(t.token for t in c.choices[0].logprobs.content) == c.choices[0].delta.content


def test_legacy_completion_logprobs_with_offsets(client: Any) -> None:
    chat = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, logprobs=True)
    done = client.completions.create(model=MODEL, prompt=ASK[0]["content"], max_tokens=8, logprobs=2)
    scores = done.choices[0].logprobs
    assert scores.tokens == [t.token for t in chat.choices[0].logprobs.content]
    assert scores.token_logprobs == pytest.approx([t.logprob for t in chat.choices[0].logprobs.content])
    assert [done.choices[0].text[o:o + len(t)] for o, t in zip(scores.text_offset, scores.tokens, strict=True)] == \
        scores.tokens
    assert all(len(top) == 2 and max(top.values()) == lp for top, lp in
               zip(scores.top_logprobs, scores.token_logprobs, strict=True))
    chunks = list(client.completions.create(model=MODEL, prompt=ASK[0]["content"], max_tokens=8, logprobs=0,
                                            stream=True))
    streamed = [o for c in chunks if c.choices and c.choices[0].logprobs for o in c.choices[0].logprobs.text_offset]
    assert streamed == scores.text_offset


@pytest.mark.parametrize(("call", "words"), [
    ({"top_logprobs": 2}, "'top_logprobs' needs 'logprobs': true"),
    ({"logprobs": True, "top_logprobs": 21}, "'top_logprobs' must be from 0 to 20"),
    ({"logprobs": 3}, "'logprobs' must be a boolean"),
])
def test_chat_logprobs_out_of_bounds_are_400s(client: Any, call: dict[str, Any], words: str) -> None:
    import openai

    with pytest.raises(openai.BadRequestError, match=words):
        client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=2, **call)


def test_legacy_logprobs_over_five_is_a_400(client: Any) -> None:
    import openai

    with pytest.raises(openai.BadRequestError, match="'logprobs' must be from 0 to 5"):
        client.completions.create(model=MODEL, prompt="hi", max_tokens=2, logprobs=6)


def test_ollama_logprobs_are_the_openai_routes(client: Any, url: str) -> None:
    from ollama import Client

    ollama = Client(host=url)
    openai_tokens = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, logprobs=True,
                                                   top_logprobs=2).choices[0].logprobs.content
    chat = ollama.chat(model=MODEL, messages=ASK, options={"num_predict": 8}, logprobs=True, top_logprobs=2)
    assert [(t.token, t.logprob) for t in chat.logprobs] == [(t.token, t.logprob) for t in openai_tokens]
    assert [a.token for a in chat.logprobs[0].top_logprobs] == [a.token for a in openai_tokens[0].top_logprobs]
    parts = list(ollama.generate(model=MODEL, prompt=ASK[0]["content"], options={"num_predict": 8}, logprobs=True,
                                 stream=True))
    assert [t.token for p in parts for t in (p.logprobs or [])] == [t.token for t in openai_tokens]
    assert ollama.chat(model=MODEL, messages=ASK, options={"num_predict": 2}).logprobs is None
