"""Raw prompts through /v1/completions, as evaluation harnesses send them (lm-evaluation-harness's
``local-completions``): token ids continued without a chat template, echo with the prompt's log-probabilities, and
vLLM's tokenizer routes; SmolLM2 served, the scores checked against the model run directly."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from .conftest import CHAT as MODEL

PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def ids(chat_url: str) -> list[int]:
    return list(httpx.post(f"{chat_url}/tokenize", json={"prompt": PROMPT, "add_special_tokens": False}).json()["tokens"])


def test_echo_scores_each_prompt_token_as_the_model_does(chat_client: Any, ids: list[int]) -> None:
    """With echo and logprobs the prompt comes back before the answer, its first token unscored (null) and each
    other scored after those before it, as the model's own forward pass scores it."""
    import torch

    import latentstack

    done = chat_client.completions.create(model=MODEL, prompt=[ids], echo=True, logprobs=1, max_tokens=1)
    choice = done.choices[0]
    scores = choice.logprobs.token_logprobs
    assert choice.text.startswith(PROMPT) and len(scores) == len(ids) + 1 and scores[0] is None
    assert choice.logprobs.top_logprobs[0] is None and done.usage.prompt_tokens == len(ids)
    gen = latentstack.get_generator("llm", model=MODEL)
    with torch.inference_mode():
        logp = torch.log_softmax(gen.model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)
    expected = [float(logp[i - 1, ids[i]]) for i in range(1, len(ids))]
    assert all(math.isclose(a, b, abs_tol=1e-4) for a, b in zip(scores[1:len(ids)], expected, strict=True))
    best = int(logp[-1].argmax())  # greedy: the one token generated is the likeliest after the prompt
    assert choice.logprobs.tokens[-1] == gen.raw_text([best])
    assert math.isclose(scores[-1], float(logp[-1, best]), abs_tol=1e-4)


def test_max_tokens_0_with_echo_scores_the_prompt_alone(chat_client: Any, ids: list[int]) -> None:
    """vLLM's way to score a text: echo with max_tokens 0 gives the prompt's scores and generates nothing; without
    echo, 0 tokens is a 400."""
    import openai

    one = chat_client.completions.create(model=MODEL, prompt=ids, echo=True, logprobs=0, max_tokens=1).choices[0]
    none = chat_client.completions.create(model=MODEL, prompt=ids, echo=True, logprobs=0, max_tokens=0)
    choice = none.choices[0]
    assert choice.text == PROMPT and choice.finish_reason == "length" and none.usage.completion_tokens == 0
    assert choice.logprobs.token_logprobs == one.logprobs.token_logprobs[:len(ids)]
    with pytest.raises(openai.BadRequestError, match="'max_tokens' 0 generates nothing: it needs 'echo'"):
        chat_client.completions.create(model=MODEL, prompt=ids, max_tokens=0)


def test_token_ids_are_continued_raw_whole_and_streamed(chat_client: Any, chat_url: str, ids: list[int]) -> None:
    """A prompt of token ids is continued as the model's own text (no chat template), the same as echo writes
    after the prompt, whole and streamed; a text prompt without echo is still a user message."""
    raw = chat_client.completions.create(model=MODEL, prompt=ids, max_tokens=6)
    echoed = chat_client.completions.create(model=MODEL, prompt=PROMPT, echo=True, max_tokens=6)
    assert raw.choices[0].text and echoed.choices[0].text == PROMPT + raw.choices[0].text
    assert raw.usage.prompt_tokens == len(ids) and raw.usage.completion_tokens == 6
    chunks = list(chat_client.completions.create(model=MODEL, prompt=ids, max_tokens=6, stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == raw.choices[0].text
    chat = chat_client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=6)
    assert chat.usage.prompt_tokens > len(ids)  # the chat template's markup around the text
    two = chat_client.completions.create(model=MODEL, prompt=[ids, ids[:3]], max_tokens=2)
    assert [c.index for c in two.choices] == [0, 1] and two.usage.prompt_tokens == len(ids) + 3


def test_echo_streams_each_prompt_first_then_its_answer(chat_client: Any, ids: list[int]) -> None:
    """echo with stream was a 400: each prompt's first chunk holds it echoed (with its scores), the next ones its
    answer; together the text and log-probabilities of the whole completion."""
    asked = {"model": MODEL, "prompt": [ids, ids[:3]], "echo": True, "logprobs": 1, "max_tokens": 4}
    whole = chat_client.completions.create(**asked)
    chunks = [c.choices[0] for c in chat_client.completions.create(**asked, stream=True) if c.choices]
    for i, (choice, prompt) in enumerate(zip(whole.choices, [ids, ids[:3]], strict=True)):
        mine = [c for c in chunks if c.index == i]
        assert len(mine[0].logprobs.tokens) == len(prompt) and mine[0].logprobs.token_logprobs[0] is None
        assert (mine[0].text == PROMPT) is (i == 0) and choice.text.startswith(mine[0].text)
        assert "".join(c.text for c in mine) == choice.text and mine[-1].finish_reason == choice.finish_reason
        scored = [c.logprobs for c in mine if c.logprobs]
        assert [t for s in scored for t in s.tokens] == choice.logprobs.tokens
        assert [o for s in scored for o in s.text_offset] == choice.logprobs.text_offset
        streamed = [p for s in scored for p in s.token_logprobs]
        assert streamed[0] is None and streamed[1:] == pytest.approx(choice.logprobs.token_logprobs[1:], abs=1e-5)


def test_a_later_prompts_error_ends_its_stream_with_an_error_event(chat_client: Any, ids: list[int]) -> None:
    """A stream's first prompt starts it; an error of a later prompt's is an error event (vLLM's), which OpenAI's
    client raises with the server's words, rather than a broken connection; whole, the request is a 400."""
    import openai

    long = ids * (9000 // len(ids) + 1)  # over SmolLM2's context window
    with pytest.raises(openai.APIError, match="a raw prompt must hold 1 to"):
        list(chat_client.completions.create(model=MODEL, prompt=[ids, long], max_tokens=4, stream=True))
    with pytest.raises(openai.BadRequestError, match="a raw prompt must hold 1 to"):
        chat_client.completions.create(model=MODEL, prompt=[ids, long], max_tokens=4)


def test_the_tokenizer_routes_spell_a_text_and_back(chat_url: str, ids: list[int]) -> None:
    info = httpx.get(f"{chat_url}/tokenizer_info").json()
    assert info["eos_token"] and info["model_max_length"] > len(ids) and "{%" in info["chat_template"]
    assert httpx.post(f"{chat_url}/detokenize", json={"tokens": ids}).json() == {"prompt": PROMPT}
    eos = httpx.post(f"{chat_url}/tokenize", json={"prompt": info["eos_token"], "add_special_tokens": False}).json()
    assert eos["count"] == 1  # a special token's text is that token
    assert httpx.post(f"{chat_url}/tokenize", json={"prompt": ""}).json()["tokens"] == []
    unknown = httpx.post(f"{chat_url}/tokenize", json={"prompt": "hi", "model": "nope"})
    assert unknown.status_code == 404 and "unknown chat model 'nope'" in unknown.json()["error"]["message"]


@pytest.mark.parametrize(("route", "body", "words"), [
    ("/v1/completions", {"prompt": [[]]}, "a list of token ids"),
    ("/v1/completions", {"prompt": [1, "a"]}, "a list of token ids"),
    ("/v1/completions", {"prompt": [True, False]}, "a list of token ids"),
    ("/v1/completions", {"prompt": [10 ** 9]}, "token id 1000000000 is not in the model's vocabulary"),
    ("/v1/completions", {"prompt": [[1]] * 17}, "1 to 16 prompts"),
    ("/detokenize", {"tokens": [-1]}, "token id -1 is not in the model's vocabulary"),
    ("/detokenize", {"tokens": "12"}, "'tokens' must be"),
    ("/tokenize", {"prompt": "hi", "messages": []}, "/tokenize has no field 'messages'"),
])
def test_a_bad_raw_request_is_a_400_that_says_why(chat_url: str, route: str, body: dict[str, Any], words: str) -> None:
    answer = httpx.post(f"{chat_url}{route}", json={**body, **({"max_tokens": 2} if "completions" in route else {})})
    assert answer.status_code == 400 and words in answer.json()["error"]["message"]
