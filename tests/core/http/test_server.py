"""The HTTP server through real clients: the openai package and httpx, against uvicorn on a free loopback port.

MiniLM embeds (its vectors are compared with `latentstack embed`'s), SmolLM2 chats and
answers; a TF-IDF classifier classifies. One server serves the module.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from latentstack.errors import ConfigError
from latentstack.http.app import build_app
from latentstack.http.run import InThread, check_bind
from latentstack.http.state import Served
from latentstack.testing.classifier_contract import TRAIN

from ...conftest import run_cli

DOCS = [("bread", "Bread dough rises because yeast ferments sugars and releases carbon dioxide.", "cooking"),
        ("volcano", "Volcanoes erupt when magma rises through the crust to the surface.", "geology"),
        ("tides", "Tides follow the pull of the moon on the oceans.", "oceans")]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    from latentstack import get_classifier
    from latentstack.search import Collection, Document

    root = tmp_path_factory.mktemp("http")
    col = Collection.create(root / "docs", embedder_options={"show_progress": False})
    col.add_documents([Document(i, t, metadata={"field": f}) for i, t, f in DOCS])
    col.save()
    clf = get_classifier("linear", embedder="tfidf")
    clf.fit([t for t, _ in TRAIN], [lab for _, lab in TRAIN])
    clf.save(root / "spam")
    return Served(generator="llm", generator_options={"model": "smollm2-135m-instruct"},
                  indexes={"docs": root / "docs"}, classifiers={"spam": root / "spam"})


@pytest.fixture(scope="module")
def url(served: Served) -> Iterator[str]:
    running = InThread(build_app(served))
    yield running.url
    running.stop()


def test_openai_client_embeds_as_latentstack_embed_does(url: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    texts = ["A man is playing a guitar.", "Someone plays an instrument."]
    got = client.embeddings.create(model="minilm", input=texts)  # the client asks for base64 by default
    ours = np.array([d.embedding for d in got.data])
    cli = np.array([json.loads(row) for row in run_cli("-q", "embed", *texts, check=True).stdout.splitlines()])
    cos = (ours * cli).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(cli, axis=1)
    assert ours.shape == (2, 384) and cos.min() >= 0.9999
    from latentstack import get_embedder

    tokens = [len(ids) for ids in get_embedder("bert").tokenizer(texts)["input_ids"]]  # [CLS] ... [SEP]
    assert got.usage.prompt_tokens == got.usage.total_tokens == sum(tokens) > 0  # was 0
    as_floats = client.embeddings.create(model="bert", input=texts[0], encoding_format="float")
    assert np.allclose(as_floats.data[0].embedding, ours[0], atol=1e-3)
    many = [f"document {i} of a batch the size LangChain sends" for i in range(1000)]  # it was refused over 256
    rows = np.array([d.embedding for d in client.embeddings.create(model="minilm", input=many).data])
    alone = np.array([d.embedding for d in client.embeddings.create(model="minilm", input=[many[0], many[999]]).data])
    assert rows.shape == (1000, 384) and np.allclose(rows[[0, 999]], alone, atol=1e-3)


def test_openai_client_streams_a_chat_answer(url: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    stream = client.chat.completions.create(model="smollm2-135m-instruct", messages=messages, max_tokens=12,
                                            stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert len(chunks) > 3 and "Paris" in text and chunks[-1].choices[0].finish_reason in ("stop", "length")
    whole = client.chat.completions.create(model="smollm2-135m-instruct", messages=messages, max_tokens=12)
    assert whole.choices[0].message.content == text and whole.usage.completion_tokens > 0


def test_openai_client_legacy_completions_answer_each_prompt_as_chat_does(url: str) -> None:
    """/v1/completions (LangChain's OpenAI LLM, scripts for gpt-3.5-turbo-instruct) was a 404: each prompt is answered
    as the same text sent as a chat message is, a choice per prompt, streamed on request; what it cannot honour (a
    suffix, best_of) is a 400 naming the field (echo and token ids: test_raw_completions; several prompts streamed:
    test_parallel_chats)."""
    import openai
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    asks = ["What is the capital of France?", "Name a colour of the sky."]
    chat = client.chat.completions.create(model="smollm2-135m-instruct", max_tokens=12,
                                          messages=[{"role": "user", "content": asks[0]}])
    both = client.completions.create(model="smollm2-135m-instruct", prompt=asks, max_tokens=12)
    assert both.object == "text_completion" and [c.index for c in both.choices] == [0, 1]
    assert both.choices[0].text == chat.choices[0].message.content and "Paris" in both.choices[0].text
    one = client.completions.create(model="smollm2-135m-instruct", prompt=asks[1], max_tokens=12)
    assert one.choices[0].text == both.choices[1].text
    assert both.usage.prompt_tokens > one.usage.prompt_tokens > 0 and both.usage.completion_tokens > 0
    chunks = list(client.completions.create(model="smollm2-135m-instruct", prompt=asks[0], max_tokens=12, stream=True,
                                            stream_options={"include_usage": True}))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == both.choices[0].text
    assert chunks[-1].usage.completion_tokens == chat.usage.completion_tokens
    for refused, name in (({"suffix": "end"}, "suffix"), ({"best_of": 2}, "best_of"),
                          ({"n": 2, "best_of": 1}, "'best_of' 1 is below 'n' 2"),
                          ({"prompt": [asks[0]] * 5, "n": 8}, "at most 32 a request")):
        with pytest.raises(openai.BadRequestError, match=name):
            client.completions.create(**{"model": "smollm2-135m-instruct", "prompt": asks[0], **refused})


def test_openai_penalties_and_logit_bias_are_the_generators(url: str, served: Served) -> None:
    """presence_penalty, frequency_penalty and logit_bias (a 400 before) are honoured as the served generator
    honours them, in chat and legacy completions, and over Ollama's options."""
    from openai import OpenAI

    from latentstack.interfaces import GenerationConfig

    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    local = served.generator_instance()
    ask = "List five fruits, then five fruits again."
    plain = local.generate(ask, GenerationConfig(max_new_tokens=24))
    banned = local.raw_tokens(plain)[0]
    shifted = {"frequency_penalty": 1.5, "presence_penalty": 0.5, "logit_bias": {banned: -100}}
    expected = local.generate(ask, GenerationConfig(max_new_tokens=24, **shifted))
    assert expected != plain
    sent = {**shifted, "logit_bias": {str(banned): -100}}
    chat = client.chat.completions.create(model="smollm2-135m-instruct", max_tokens=24,
                                          messages=[{"role": "user", "content": ask}], **sent)
    legacy = client.completions.create(model="smollm2-135m-instruct", prompt=ask, max_tokens=24, **sent)
    assert chat.choices[0].message.content == legacy.choices[0].text == expected
    ollama = {"num_predict": 24, "frequency_penalty": 1.5, "presence_penalty": 0.5}
    with httpx.Client(base_url=url, timeout=120) as http:
        said = http.post("/api/chat", json={"model": "smollm2-135m-instruct", "stream": False, "options": ollama,
                                            "messages": [{"role": "user", "content": ask}]}).json()
    assert said["message"]["content"] == local.generate(ask, GenerationConfig(
        max_new_tokens=24, frequency_penalty=1.5, presence_penalty=0.5))


def test_top_k_and_min_p_are_honoured(url: str) -> None:
    """vLLM's and llama.cpp's top_k and min_p (ignored before, as fields OpenAI does not define), and Ollama's
    options of those names: top_k 1, or min_p 1, leaves a hot sample the greedy answer."""
    messages = [{"role": "user", "content": "Tell me a story about a fox."}]
    ask = {"model": "smollm2-135m-instruct", "messages": messages, "max_tokens": 16}
    hot = {"temperature": 1.5, "seed": 1}
    with httpx.Client(base_url=url, timeout=120) as http:
        def said(**fields: Any) -> str:
            return str(http.post("/v1/chat/completions", json={**ask, **fields}).json()["choices"][0]["message"][
                "content"])

        greedy = said()
        assert said(**hot) != greedy
        assert said(**hot, top_k=1) == said(**hot, min_p=1) == greedy
        assert said(**hot, top_k=-1) == said(**hot)  # vLLM's "all"
        ollama = http.post("/api/chat", json={"model": "smollm2-135m-instruct", "messages": messages, "stream": False,
                                              "options": {"num_predict": 16, **hot, "top_k": 1}}).json()
    assert ollama["message"]["content"] == greedy


def test_openai_client_options_are_honoured_or_refused(url: str) -> None:
    """max_completion_tokens bounds the answer (it was ignored: 256 tokens), include_usage ends a stream with the
    usage, dimensions equal to the model's is accepted, and a value the server cannot honour is an error."""
    import openai
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    messages = [{"role": "user", "content": "Write a long story about a dragon."}]
    short = client.chat.completions.create(model="smollm2-135m-instruct", messages=messages, max_completion_tokens=3)
    assert short.usage.completion_tokens == 3 and short.choices[0].finish_reason == "length"
    chunks = list(client.chat.completions.create(model="smollm2-135m-instruct", messages=messages, max_tokens=3,
                                                 stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == short.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])
    assert len(client.embeddings.create(model="minilm", input="x", dimensions=384).data[0].embedding) == 384
    assert client.models.retrieve("minilm").id == "minilm"  # was a 404 from the framework, not OpenAI's shape
    with pytest.raises(openai.NotFoundError, match="unknown model 'gpt-4'"):
        client.models.retrieve("gpt-4")
    with pytest.raises(openai.BadRequestError, match="response_format"):
        client.chat.completions.create(model="smollm2-135m-instruct", messages=messages,
                                       response_format={"type": "grammar"})


def test_chat_content_as_text_parts_and_a_developer_message_answer_as_strings_do(url: str) -> None:
    """A content given as text parts (as LangChain and newer OpenAI SDK code send it) was a 400, and the
    developer role (OpenAI's newer name for system) was refused; an image part is refused by name."""
    import openai
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    plain = [{"role": "system", "content": "Answer in one word."},
             {"role": "user", "content": "What is the capital of France?\nName the city."}]
    parts = [{"role": "developer", "content": [{"type": "text", "text": "Answer in one word."}]},
             {"role": "user", "content": [{"type": "text", "text": "What is the capital of France?"},
                                          {"type": "text", "text": "Name the city."}]}]
    answers = [client.chat.completions.create(model="smollm2-135m-instruct", messages=m, max_tokens=6)
               for m in (plain, parts)]
    assert answers[0].choices[0].message.content == answers[1].choices[0].message.content
    assert answers[0].usage.prompt_tokens == answers[1].usage.prompt_tokens
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]
    with pytest.raises(openai.BadRequestError, match=r"content\[0\]' is a part of type image_url; the chat models read text only"):
        client.chat.completions.create(model="smollm2-135m-instruct", messages=image)


def test_the_index_or_classifier_may_be_left_out_when_one_is_served(url: str) -> None:
    """A server of one index answered a search without "index" with "'index' is required"."""
    with httpx.Client(base_url=url, timeout=120) as http:
        hits = http.post("/v1/search", json={"query": "why does bread rise", "k": 1}).json()["data"]
        assert hits[0]["doc_id"] == "bread"
        either = http.post("/v1/search", json={"query": "rise", "where": {"field": ["cooking", "geology"]}}).json()["data"]
        assert {h["doc_id"] for h in either} == {"bread", "volcano"}
        only = http.post("/v1/search", json={"query": "rise", "where": {"field": {"$nin": ["geology", "oceans"]}}}).json()["data"]
        assert {h["doc_id"] for h in only} == {"bread"} and "no_match" not in http.post(
            "/v1/search", json={"query": "rise", "where": {"field": "geology"}}).json()
        typo = http.post("/v1/search", json={"query": "rise", "where": {"field": "Cooking"}}).json()
        assert typo["data"] == [] and typo["no_match"].startswith('no document\'s field meets "Cooking"; its values: ')
        refused = http.post("/v1/search", json={"query": "rise", "where": {"field": {"$like": "cook%"}}})
        assert refused.status_code == 400 and "has operator '$like'; operators are" in refused.json()["error"]["message"]
        labels = http.post("/v1/classify", json={"input": ["WIN a FREE prize now"]}).json()
        assert labels["model"] == "spam" and labels["data"][0]["label"] in ("spam", "ham")


def test_a_name_left_out_among_several_served_lists_them() -> None:
    from latentstack.http import fields as f
    from latentstack.http.errors import HttpError

    assert f.one_of({"index": "b"}, "index", ["a", "b"]) == "b"
    with pytest.raises(HttpError, match="'index' is required: one of a, b"):
        f.one_of({}, "index", ["a", "b"])
    with pytest.raises(HttpError, match="'index' must be a string"):
        f.one_of({"index": 3}, "index", ["a"])


def test_search_ask_and_classify_over_http(url: str) -> None:
    with httpx.Client(base_url=url, timeout=120) as http:
        hits = http.post("/v1/search", json={"index": "docs", "query": "why does bread rise", "k": 2}).json()["data"]
        assert hits[0]["doc_id"] == "bread" and len(hits) == 2
        answer = http.post("/v1/ask", json={"index": "docs", "question": "Why does bread dough rise?", "k": 1}).json()
        assert answer["passages"] and answer["passages"][0]["doc_id"] == "bread" and answer["answer"]
        with http.stream("POST", "/v1/ask", json={"index": "docs", "question": "Why does bread dough rise?",
                                                   "k": 1, "stream": True}) as events:
            data = [json.loads(line[6:]) for line in events.iter_lines() if line.startswith("data: {")]
        assert any("token" in e for e in data) and data[-1]["answer"]["answer"] == answer["answer"]
        geology = http.post("/v1/ask", json={"index": "docs", "question": "Why does bread dough rise?", "k": 2,
                                             "max_tokens": 4, "where": {"field": "geology"}}).json()
        assert [p["doc_id"] for p in geology["passages"]] == ["volcano"]
        filtered = http.post("/v1/search", json={"index": "docs", "query": "why does bread rise", "where": {"field": "oceans"}})
        assert [h["doc_id"] for h in filtered.json()["data"]] == ["tides"]
        ranked = http.post("/v1/search", json={"index": "docs", "query": "why does bread rise", "fusion": "rrf",
                                                "documents": True}).json()["data"]
        assert ranked[0]["doc_id"] == "bread" and len({h["doc_id"] for h in ranked}) == len(ranked) == 3
        assert 0 < ranked[0]["score"] < 0.05  # reciprocal-rank scores, not z-scores
        dense = http.post("/v1/search", json={"index": "docs", "query": "why does bread rise", "hybrid": False})
        assert dense.status_code == 200 and dense.json()["data"][0]["doc_id"] == "bread"
        like = http.post("/v1/search", json={"index": "docs", "like": "volcano", "k": 5}).json()["data"]
        assert sorted(h["doc_id"] for h in like) == ["bread", "tides"]  # the others, itself left out
        refused = http.post("/v1/search", json={"index": "docs", "like": "volcano", "query": "rocks"})
        assert refused.status_code == 400 and "leave 'query' out" in refused.json()["error"]["message"]
        missing = http.post("/v1/search", json={"index": "docs", "like": "nosuch"})
        assert missing.status_code == 400 and "no document 'nosuch'" in missing.json()["error"]["message"]
        labels = http.post("/v1/classify", json={"model": "spam", "input": ["WIN a free prize now", "see you at lunch"]})
        assert [d["label"] for d in labels.json()["data"]] == ["spam", "ham"]
        listed = {m["id"]: m["kind"] for m in http.get("/v1/models").json()["data"]}
        assert listed["minilm"] == "embedding model" and listed["docs"] == "index" and listed["spam"] == "classifier"
        assert listed["bert"] == "embedder" and "onnx" not in listed  # it needs an export's folder, none given


def test_serves_retrieval_options_are_the_defaults_a_request_overrides(served: Served) -> None:
    """serve --http -k 1 --dense-only --min-score 0.99: /v1/ask and /v1/search used their own defaults instead."""
    from latentstack.rag import RagConfig
    from latentstack.rag.answer import UNKNOWN

    strict = Served(generator="llm", generator_options=served.generator_options, indexes=served.indexes,
                    ask_defaults=RagConfig(k=1, hybrid=False, min_score=0.99))
    running = InThread(build_app(strict))
    try:
        with httpx.Client(base_url=running.url, timeout=120) as http:
            question = {"index": "docs", "question": "Why does bread dough rise?", "max_tokens": 4}
            declined = http.post("/v1/ask", json=question).json()
            assert declined["answer"] == UNKNOWN and len(declined["passages"]) <= 1
            answered = http.post("/v1/ask", json={**question, "min_score": 0.0, "k": 2}).json()
            assert answered["answer"] != UNKNOWN and len(answered["passages"]) == 2
            query = {"index": "docs", "query": "why does bread rise", "k": 3}
            default = http.post("/v1/search", json=query).json()["data"]
            assert default == http.post("/v1/search", json={**query, "hybrid": False}).json()["data"]
            assert default != http.post("/v1/search", json={**query, "hybrid": True}).json()["data"]
            bad = http.post("/v1/ask", json={**question, "min_score": 2})
            assert bad.status_code == 400 and "min_score" in bad.json()["error"]["message"]
    finally:
        running.stop()


def test_classify_labels_as_predict_does_with_a_tuned_threshold(tmp_path: Path) -> None:
    """A classifier with a tuned threshold: /v1/classify gives predict's labels, not the most probable class."""
    from latentstack import get_classifier

    texts = ["WIN a free prize now", "see you at lunch"]
    get_classifier("linear", embedder="tfidf", tune_threshold=True).fit(
        [t for t, _ in TRAIN], [lab for _, lab in TRAIN]).save(tmp_path / "tuned")
    served = Served(classifiers={"tuned": tmp_path / "tuned"})
    clf = served.classifier("tuned")
    spam = clf.predict_proba(texts)[:, clf.classes.index("spam")]
    assert spam[0] > 0.5 and clf.classes == ["ham", "spam"]
    clf.threshold = float(spam.max()) + 1e-3  # above both texts: predict says ham where the argmax says spam
    running = InThread(build_app(served))
    try:
        data = httpx.post(f"{running.url}/v1/classify", json={"model": "tuned", "input": texts}, timeout=60).json()
    finally:
        running.stop()
    assert [d["label"] for d in data["data"]] == clf.predict(texts) == ["ham", "ham"]


@pytest.mark.parametrize(("route", "body", "status", "words"), [
    ("/v1/embeddings", b"{not json", 400, "not valid JSON"),
    ("/v1/embeddings", b'{"model": "minilm", "input": "cut \\ud83d emoji"}', 400, "holds U+D83D"),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "\\udc80"}]}', 400, "holds U+DC80"),
    ("/v1/embeddings", {"model": "no-such-model", "input": "x"}, 404, "unknown embedding model"),
    ("/v1/embeddings", {"model": "minilm", "input": ["x"] * 2049}, 400, "at most 2048"),
    ("/v1/embeddings", {"model": "minilm", "input": ""}, 400, "is empty"),
    ("/v1/embeddings", {"model": "minilm", "input": [1, 2]}, 400, "must be a string"),
    ("/v1/embeddings", {"model": "minilm", "input": [[9906, 1917]]}, 400, "unless given check_embedding_ctx_length=False"),
    ("/v1/embeddings", {"model": "minilm", "input": "x" * (9 << 20)}, 413, "over"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 100000}, 400,
     "max_tokens"),
    ("/v1/chat/completions", {"model": "smollm2-135m-instruct+nope", "messages": [{"role": "user", "content": "x"}]},
     404, "unknown chat model"),
    ("/v1/chat/completions", {"messages": "hello"}, 400, "must be a list"),
    ("/v1/search", {"index": "docs", "query": "bread", "k": 5000}, 400, "'k' must be"),
    ("/v1/search", {"index": "nope", "query": "bread"}, 404, "unknown index"),
    ("/v1/search", {"index": "docs", "query": "bread", "fusion": "max"}, 400, "'zscore' or 'rrf'"),
    ("/v1/search", {"index": "docs", "query": "bread", "fusion": "rrf", "hybrid": False}, 400, "there is one"),
    ("/v1/classify", {"model": "spam", "input": "x", "extra": True}, 400, "has no field 'extra'"),
    ("/v1/search", {"index": "docs", "query": "bread", "filter": {"a": 1}}, 400, "its fields are index, query, k, hybrid"),
    ("/v1/embeddings", {"model": "minilm", "input": "x", "dimensions": 64}, 400, "384-dimensional vectors and cannot shorten"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "n": 9}, 400, "'n' must be from 1 to 8"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]}, 400,
     "'tools[0]' must be"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "max_completion_tokens": 6},
     400, "differ"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "top_k": -2}, 400,
     "'top_k' must be from -1"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "min_p": 1.5}, 400,
     "'min_p' must be from 0 to 1"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "presence_penalty": 3}, 400,
     "'presence_penalty' must be from -2.0 to 2.0"),
    ("/v1/completions", {"prompt": "hi", "logit_bias": {"the": 5}}, 400, "token ids (whole numbers from 0)"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "logit_bias": {"7": 500}}, 400,
     "logit_bias of token 7 must be a number from -100 to 100"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "logit_bias": {"999999": 1},
                              "stream": True}, 400, "names token 999999, but the model's vocabulary has 49152 tokens"),
])
def test_bad_requests_get_openai_shaped_4xx_and_the_server_keeps_serving(url: str, route: str, body: object,
                                                                        status: int, words: str) -> None:
    with httpx.Client(base_url=url, timeout=60) as http:
        sent = http.post(route, content=body) if isinstance(body, bytes) else http.post(route, json=body)
        assert sent.status_code == status, sent.text
        if status >= 400:
            error = sent.json()["error"]
            assert words in error["message"] and error["type"]
        assert http.get("/v1/models").status_code == 200


def test_concurrent_embeddings_are_batched_and_match_one_at_a_time(served: Served, url: str) -> None:
    texts = [f"text number {i} about bread and yeast" for i in range(32)]

    async def all_at_once() -> list[list[float]]:
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            replies = await asyncio.gather(*(http.post("/v1/embeddings", json={"model": "minilm", "input": t,
                                                                               "encoding_format": "float"})
                                             for t in texts))
        return [r.json()["data"][0]["embedding"] for r in replies]

    _, batcher = served.batcher("minilm")
    before = batcher.calls
    together = np.array(asyncio.run(all_at_once()))
    assert batcher.calls - before < len(texts)  # some requests shared a forward pass
    with httpx.Client(base_url=url, timeout=60) as http:
        alone = np.array([http.post("/v1/embeddings", json={"model": "minilm", "input": t, "encoding_format": "float"})
                          .json()["data"][0]["embedding"] for t in texts[:4]])
    cos = (together[:4] * alone).sum(1) / np.linalg.norm(together[:4], axis=1) / np.linalg.norm(alone, axis=1)
    assert cos.min() >= 0.9999


def test_api_key_guards_every_route_and_open_binds_need_one(served: Served) -> None:
    running = InThread(build_app(served, api_key="s3cret"))
    try:
        with httpx.Client(base_url=running.url, timeout=30) as http:
            assert http.get("/v1/models").status_code == 401
            assert http.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert http.get("/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200
            assert http.get("/openapi.json").status_code == 401
            assert http.get("/health").json() == {"status": "ok"}  # a probe has no key
            assert http.post("/health").status_code == 401  # only the probe's GET is open
    finally:
        running.stop()
    with pytest.raises(ConfigError, match="without --api-key"):
        check_bind("0.0.0.0", "")
    check_bind("0.0.0.0", "key")
    check_bind("127.0.0.1", "")
    check_bind("localhost", "")


def test_openapi_lists_the_routes(url: str) -> None:
    paths = httpx.get(f"{url}/openapi.json", timeout=30).json()["paths"]
    assert {"/v1/models", "/v1/embeddings", "/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/search",
            "/v1/ask", "/v1/classify"} <= set(paths)
    for method, path, status in (("POST", "/v1/audio/speech", 404), ("GET", "/v1/embeddings", 405)):
        wrong = httpx.request(method, f"{url}{path}", timeout=30)  # {"detail": "Not Found"} before: not OpenAI's shape
        assert wrong.status_code == status and f"{method} {path}; the routes are listed at /docs" in \
            wrong.json()["error"]["message"]


def test_mixed_load_is_served_without_errors(url: str) -> None:
    """A bounded load test: chats, embeddings and bad requests at once; every good one answers 200, bad ones 4xx."""
    chat = {"messages": [{"role": "user", "content": "Name a colour."}], "max_tokens": 4}

    async def load() -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=300) as http:
            calls = [http.post("/v1/chat/completions", json=chat) for _ in range(6)]
            calls += [http.post("/v1/embeddings", json={"model": "minilm", "input": f"text {i}"}) for i in range(48)]
            calls += [http.post("/v1/embeddings", content=b"[broken") for _ in range(6)]
            return [r.status_code for r in await asyncio.gather(*calls)]

    statuses = asyncio.run(load())
    assert statuses[:54] == [200] * 54 and statuses[54:] == [400] * 6, statuses
