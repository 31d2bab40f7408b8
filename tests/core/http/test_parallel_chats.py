"""Users chatting at the same time with a server whose generator decodes several answers together: each gets the
answer it gets alone, and the answers were decoded together."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from latentstack.http.app import build_app
from latentstack.http.run import InThread
from latentstack.http.state import Served
from tests.core.http.conftest import CHAT

QUESTIONS = ("What is the capital of France?", "Name three colours.", "Write one sentence about rain.",
             "Count from one to five in words.")


@pytest.fixture(scope="module")
def together() -> Iterator[tuple[str, Served]]:
    served = Served(generator="llm", generator_options={"model": CHAT, "parallel": 3})
    running = InThread(build_app(served))
    yield running.url, served
    running.stop()


def _answer(url: str, question: str, stream: bool) -> str:
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    messages: Any = [{"role": "user", "content": question}]
    if not stream:
        reply = client.chat.completions.create(model=CHAT, messages=messages, max_tokens=24, temperature=0)
        return reply.choices[0].message.content or ""
    chunks = client.chat.completions.create(model=CHAT, messages=messages, max_tokens=24, temperature=0, stream=True)
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_users_at_the_same_time_get_the_answers_each_gets_alone(together: tuple[str, Served], chat_url: str) -> None:
    url, served = together
    alone = [_answer(chat_url, q, stream=False) for q in QUESTIONS]
    got = [""] * len(QUESTIONS)

    def ask(i: int) -> None:
        got[i] = _answer(url, QUESTIONS[i], stream=i % 2 == 0)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(QUESTIONS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == alone
    gen = served.generator_instance()
    assert gen.parallel_rows == 3 and served.gen_lock.rows == 3
    assert gen.batcher.widest > 1  # rows were read in shared passes


def test_the_usage_counts_the_prompt_the_generator_read(together: tuple[str, Served],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The prompt's tokens come from the answer's Finish: not tokenized a second time on the event loop."""
    from openai import OpenAI

    url, served = together
    gen = served.generator_instance()
    messages: Any = [{"role": "user", "content": QUESTIONS[0]}]
    expected = gen.count_prompt_tokens(messages)

    def counted_again(_: Any) -> int:
        raise AssertionError("the prompt was tokenized again")

    monkeypatch.setattr(gen, "count_prompt_tokens", counted_again)
    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    whole = client.chat.completions.create(model=CHAT, messages=messages, max_tokens=4)
    chunks = list(client.chat.completions.create(model=CHAT, messages=messages, max_tokens=4, stream=True,
                                                 stream_options={"include_usage": True}))
    assert whole.usage is not None and whole.usage.prompt_tokens == expected
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == expected
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens > 0  # the same prompt again: read from the cache


def test_n_choices_are_decoded_together_their_prompt_read_once(together: tuple[str, Served], chat_url: str,
                                                               packs: list[list[int]]) -> None:
    from openai import OpenAI

    url, served = together
    served.generator_instance()  # loaded (and warmed with a pass of its own) before the passes are counted
    packs.clear()
    story: Any = [{"role": "user", "content": "Tell me a short story about a lighthouse."}]
    asked = {"model": CHAT, "messages": story, "max_tokens": 12, "temperature": 0.9}
    three = OpenAI(base_url=f"{url}/v1", api_key="unused").chat.completions.create(**asked, n=3, seed=11)
    ours = list(packs)  # (the other server, in this process too, packs its passes alike)
    alone = OpenAI(base_url=f"{chat_url}/v1", api_key="unused")
    expected = [alone.chat.completions.create(**asked, seed=s).choices[0].message.content for s in (11, 12, 13)]
    assert [c.message.content for c in three.choices] == expected
    assert max(len(rows) for rows in ours) == 3, ours  # the three read in shared passes
    assert three.usage is not None
    read = sum(n for rows in ours for n in rows if n > 5)  # passes longer than a lookup draft's read the prompt
    assert 0 < read <= three.usage.prompt_tokens, ours  # the prompt read once (in one pass, or in parts)
    # ... and counted once: read here, not from an earlier answer's cache
    assert three.usage.prompt_tokens_details.cached_tokens < three.usage.prompt_tokens - 5


def test_n_choices_stream_interleaved_as_they_are_decoded(together: tuple[str, Served]) -> None:
    """stream with n (a 400 before; OpenAI and vLLM stream it): each chunk names its choice, each choice's text is
    the one the same request answers whole, each ends with its finish reason, and the usage counts them all once."""
    from openai import OpenAI

    url, _ = together
    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    story: Any = [{"role": "user", "content": "Tell me a short story about a lighthouse."}]
    asked = {"model": CHAT, "messages": story, "max_tokens": 12, "temperature": 0.9, "n": 3, "seed": 21,
             "logprobs": True}
    whole = client.chat.completions.create(**asked)
    chunks = list(client.chat.completions.create(**asked, stream=True, stream_options={"include_usage": True}))
    texts, reasons, scored, order = ["", "", ""], [None, None, None], [0, 0, 0], []
    for chunk in chunks[:-1]:
        (choice,) = chunk.choices
        texts[choice.index] += choice.delta.content or ""
        scored[choice.index] += len(choice.logprobs.content) if choice.logprobs else 0
        reasons[choice.index] = choice.finish_reason or reasons[choice.index]
        order.append(choice.index)
    assert texts == [c.message.content for c in whole.choices] and len(set(texts)) > 1
    assert reasons == [c.finish_reason for c in whole.choices]
    assert scored == [len(c.logprobs.content) for c in whole.choices]  # type: ignore[union-attr]
    assert order[:3] == [0, 1, 2] and order[3:] != sorted(order[3:])  # role chunks, then interleaved as decoded
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and whole.usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (whole.usage.prompt_tokens,
                                                                                   whole.usage.completion_tokens)


def test_n_choices_of_a_prompt_over_the_window_are_one_clear_error(together: tuple[str, Served]) -> None:
    import httpx

    url, _ = together
    body = {"model": CHAT, "messages": [{"role": "user", "content": "word " * 9000}], "max_tokens": 8, "n": 3}
    reply = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=120)
    assert reply.status_code == 400 and "context window" in reply.json()["error"]["message"]
    assert httpx.post(f"{url}/v1/chat/completions", json={**body, "messages": [{"role": "user", "content": "Hi"}]},
                      timeout=120).status_code == 200  # and the server goes on


def test_legacy_prompts_are_decoded_together_whole_and_streamed(together: tuple[str, Served], chat_url: str,
                                                                 packs: list[list[int]]) -> None:
    """A list of prompts to /v1/completions was answered one after another (and refused streamed): its prompts are
    decoded together, each answer the one it gets alone; streamed, each chunk names its prompt, the prompts' chunks
    interleave, and the usage is the whole answer's."""
    from openai import OpenAI

    url, served = together
    served.generator_instance()
    packs.clear()
    asks = list(QUESTIONS[:3])
    alone = [OpenAI(base_url=f"{chat_url}/v1", api_key="unused").completions.create(
        model=CHAT, prompt=q, max_tokens=16).choices[0].text for q in asks]
    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    whole = client.completions.create(model=CHAT, prompt=asks, max_tokens=16)
    assert [c.text for c in whole.choices] == alone and max(map(len, packs)) > 1  # rows read in shared passes
    chunks = [c for c in client.completions.create(model=CHAT, prompt=asks, max_tokens=16, stream=True,
                                                   stream_options={"include_usage": True})]
    shown = [c.choices[0] for c in chunks if c.choices]
    assert ["".join(c.text for c in shown if c.index == i) for i in range(3)] == alone
    order = [c.index for c in shown]
    assert order.index(1) < len(order) - 1 - order[::-1].index(0)  # prompt 1 began before prompt 0 ended
    assert [next(c.finish_reason for c in shown if c.index == i and c.finish_reason) for i in range(3)] == [
        c.finish_reason for c in whole.choices]
    assert whole.usage is not None and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (
        whole.usage.prompt_tokens, whole.usage.completion_tokens)


def test_legacy_n_choices_are_the_chat_routes_for_each_prompt(together: tuple[str, Served]) -> None:
    """n on /v1/completions (a 400 before; pass@k harnesses sample this way): each prompt's choices are the chat
    route's n choices for the same message, indexed prompt by prompt, the prompt counted once; streamed, the same."""
    from openai import OpenAI

    url, _ = together
    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    asks = list(QUESTIONS[1:3])
    sampled: Any = {"model": CHAT, "max_tokens": 10, "temperature": 0.9, "seed": 5, "n": 2}
    chats = [client.chat.completions.create(**sampled, messages=[{"role": "user", "content": q}]) for q in asks]
    expected = [c.message.content for chat in chats for c in chat.choices]
    whole = client.completions.create(**sampled, prompt=asks)
    assert [c.index for c in whole.choices] == [0, 1, 2, 3] and [c.text for c in whole.choices] == expected
    assert len(set(expected)) > 2  # the seeds differ, so the choices do
    assert whole.usage is not None and all(chat.usage is not None for chat in chats)
    assert whole.usage.prompt_tokens == sum(chat.usage.prompt_tokens for chat in chats)  # type: ignore[union-attr]
    assert whole.usage.completion_tokens == sum(chat.usage.completion_tokens for chat in chats)  # type: ignore[union-attr]
    chunks = [c.choices[0] for c in client.completions.create(**sampled, prompt=asks, stream=True) if c.choices]
    assert ["".join(c.text for c in chunks if c.index == i) for i in range(4)] == expected
