"""Over HTTP, a chat's next turn says how many of its prompt tokens the last answer's KV cache held (OpenAI's
``usage.prompt_tokens_details.cached_tokens``), streamed or not."""

from __future__ import annotations

from typing import Any

from tests.core.http.conftest import CHAT


def test_a_chats_next_turn_reports_the_prompt_tokens_not_read_again(chat_client: Any) -> None:
    first = [{"role": "user", "content": "Name the colours of the rainbow, in order. " * 4}]
    one = chat_client.chat.completions.create(model=CHAT, messages=first, max_tokens=8)
    follow = [*first, {"role": "assistant", "content": one.choices[0].message.content},
              {"role": "user", "content": "Which one is in the middle?"}]
    two = chat_client.chat.completions.create(model=CHAT, messages=follow, max_tokens=8)
    assert one.usage.prompt_tokens < two.usage.prompt_tokens
    assert one.usage.prompt_tokens <= two.usage.prompt_tokens_details.cached_tokens < two.usage.prompt_tokens
    streamed = chat_client.chat.completions.create(model=CHAT, messages=follow, max_tokens=8, stream=True,
                                                   stream_options={"include_usage": True})
    usage = [c.usage for c in streamed if c.usage is not None][-1]
    assert usage.prompt_tokens_details.cached_tokens == two.usage.prompt_tokens - 1  # the same prompt again


def test_an_unrelated_prompt_shares_only_the_chat_templates_opening(chat_client: Any) -> None:
    chat_client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hello there."}],
                                        max_tokens=4)
    other = chat_client.chat.completions.create(model=CHAT, max_tokens=4,
                                                messages=[{"role": "user", "content": "Why is the sea salty?"}])
    assert other.usage.prompt_tokens_details.cached_tokens < other.usage.prompt_tokens - 5


def test_two_users_taking_turns_each_find_their_own_chats_cache(chat_client: Any) -> None:
    """A server keeps several chats' caches unless told (serve's default): one would hold only the last user's."""
    chats = [[{"role": "user", "content": topic * 4}]
             for topic in ("Name the planets of the solar system. ", "List the days of the week, in order. ")]
    for turn in range(2):
        for chat in chats:
            reply = chat_client.chat.completions.create(model=CHAT, messages=chat, max_tokens=6)
            if turn:
                assert reply.usage.prompt_tokens_details.cached_tokens > reply.usage.prompt_tokens // 2
            chat += [{"role": "assistant", "content": reply.choices[0].message.content},
                     {"role": "user", "content": "And then?"}]


def test_a_server_keeps_the_generators_own_count_where_told_or_where_it_keeps_none() -> None:
    from latentstack.http.state import _server_defaults
    from latentstack.interfaces.generator import PARALLEL_ROWS as SERVER_PARALLEL
    from latentstack.kept_prefix import SERVER_SLOTS

    assert _server_defaults("llm", {"model": CHAT}) == {"model": CHAT, "prefix_cache": SERVER_SLOTS,
                                                        "parallel": SERVER_PARALLEL}
    assert _server_defaults("llm", {"prefix_cache": "1", "parallel": 1}) == {"prefix_cache": "1", "parallel": 1}
    assert _server_defaults("onnx", {}) == {"prefix_cache": SERVER_SLOTS}  # it decodes one answer at a time
    assert _server_defaults("openai", {"model": "gpt"}) == {"model": "gpt"}  # a remote model keeps no cache here
