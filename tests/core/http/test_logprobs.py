"""Log-probabilities over HTTP through the openai and ollama packages: chat (whole and streamed), legacy
completions, Ollama's chat and generate, and the requests refused; and ``n`` choices; SmolLM2 served on a loopback
port."""

from __future__ import annotations

import math
from typing import Any

import pytest

from .conftest import CHAT as MODEL

ASK = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


def test_chat_logprobs_spell_the_answer_with_the_best_alternatives(chat_client: Any) -> None:
    plain = chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)
    scored = chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, logprobs=True, top_logprobs=3)
    content = scored.choices[0].logprobs.content
    text = scored.choices[0].message.content
    assert text == plain.choices[0].message.content and plain.choices[0].logprobs is None
    assert b"".join(bytes(t.bytes) for t in content).decode() == text
    for t in content:  # greedy: the chosen token is the likeliest, and the alternatives come best first
        assert [a.token for a in t.top_logprobs][0] == t.token and len(t.top_logprobs) == 3
        assert t.logprob <= 0 and sorted((a.logprob for a in t.top_logprobs), reverse=True) == \
            [a.logprob for a in t.top_logprobs]
    assert sum(math.exp(a.logprob) for a in content[0].top_logprobs) <= 1 + 1e-6
    only = chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, logprobs=True)
    assert [t.token for t in only.choices[0].logprobs.content] == [t.token for t in content]
    assert all(t.top_logprobs == [] for t in only.choices[0].logprobs.content)


def test_streamed_chat_logprobs_are_the_whole_answers(chat_client: Any) -> None:
    whole = chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, logprobs=True, top_logprobs=2)
    chunks = list(chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, logprobs=True,
                                                      top_logprobs=2, stream=True))
    streamed = [t for c in chunks if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content]
    assert [(t.token, t.logprob) for t in streamed] == \
        [(t.token, t.logprob) for t in whole.choices[0].logprobs.content]
    for c in chunks:  # each chunk carries the tokens of its own text
        if c.choices and c.choices[0].delta.content:
            assert "".join(t.token for t in c.choices[0].logprobs.content) == c.choices[0].delta.content


def test_legacy_completion_logprobs_with_offsets(chat_client: Any) -> None:
    chat = chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, logprobs=True)
    done = chat_client.completions.create(model=MODEL, prompt=ASK[0]["content"], max_tokens=8, logprobs=2)
    scores = done.choices[0].logprobs
    assert scores.tokens == [t.token for t in chat.choices[0].logprobs.content]
    assert scores.token_logprobs == pytest.approx([t.logprob for t in chat.choices[0].logprobs.content])
    assert [done.choices[0].text[o:o + len(t)] for o, t in zip(scores.text_offset, scores.tokens, strict=True)] == \
        scores.tokens
    assert all(len(top) == 2 and max(top.values()) == lp for top, lp in
               zip(scores.top_logprobs, scores.token_logprobs, strict=True))
    chunks = list(chat_client.completions.create(model=MODEL, prompt=ASK[0]["content"], max_tokens=8, logprobs=0,
                                                 stream=True))
    streamed = [o for c in chunks if c.choices and c.choices[0].logprobs for o in c.choices[0].logprobs.text_offset]
    assert streamed == scores.text_offset


@pytest.mark.parametrize(("call", "words"), [
    ({"top_logprobs": 2}, "'top_logprobs' needs 'logprobs': true"),
    ({"logprobs": True, "top_logprobs": 21}, "'top_logprobs' must be from 0 to 20"),
    ({"logprobs": 3}, "'logprobs' must be a boolean"),
])
def test_chat_logprobs_out_of_bounds_are_400s(chat_client: Any, call: dict[str, Any], words: str) -> None:
    import openai

    with pytest.raises(openai.BadRequestError, match=words):
        chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=2, **call)


def test_legacy_logprobs_over_five_is_a_400(chat_client: Any) -> None:
    import openai

    with pytest.raises(openai.BadRequestError, match="'logprobs' must be from 0 to 5"):
        chat_client.completions.create(model=MODEL, prompt="hi", max_tokens=2, logprobs=6)


def test_ollama_logprobs_are_the_openai_routes(chat_client: Any, chat_url: str) -> None:
    from ollama import Client

    ollama = Client(host=chat_url)
    openai_tokens = chat_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, logprobs=True,
                                                        top_logprobs=2).choices[0].logprobs.content
    chat = ollama.chat(model=MODEL, messages=ASK, options={"num_predict": 8}, logprobs=True, top_logprobs=2)
    assert [(t.token, t.logprob) for t in chat.logprobs] == [(t.token, t.logprob) for t in openai_tokens]
    assert [a.token for a in chat.logprobs[0].top_logprobs] == [a.token for a in openai_tokens[0].top_logprobs]
    parts = list(ollama.generate(model=MODEL, prompt=ASK[0]["content"], options={"num_predict": 8}, logprobs=True,
                                 stream=True))
    assert [t.token for p in parts for t in (p.logprobs or [])] == [t.token for t in openai_tokens]
    assert ollama.chat(model=MODEL, messages=ASK, options={"num_predict": 2}).logprobs is None


def test_n_choices_are_seeded_in_turn_and_counted(chat_client: Any) -> None:
    """``n`` sampled choices: the first is the request's seed, the others the next seeds (the same as asking with
    each alone), and the usage counts every choice's tokens."""
    story = [{"role": "user", "content": "Tell me a short story."}]
    three = chat_client.chat.completions.create(model=MODEL, messages=story, max_tokens=12, n=3, temperature=1.0,
                                                seed=5)
    assert [c.index for c in three.choices] == [0, 1, 2]
    alone = [chat_client.chat.completions.create(model=MODEL, messages=story, max_tokens=12, temperature=1.0,
                                                 seed=s).choices[0].message.content for s in (5, 6, 7)]
    assert [c.message.content for c in three.choices] == alone and len(set(alone)) > 1
    one = chat_client.chat.completions.create(model=MODEL, messages=story, max_tokens=12, temperature=1.0, seed=5)
    assert three.usage.prompt_tokens == one.usage.prompt_tokens
    assert three.usage.completion_tokens > one.usage.completion_tokens
