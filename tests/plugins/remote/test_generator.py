"""The openai generator against a real OpenAI-compatible server (latentstack's own, serving the real SmolLM2 on a
loopback port) through the real openai client: it meets the Generator contract, answers as the served model does,
and `ask` retrieves with latentstack while the server's model writes."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

from latentstack import get_generator
from latentstack.cli import cli
from latentstack.errors import ConfigError, UnknownNameError
from latentstack.http.app import build_app
from latentstack.http.run import InThread
from latentstack.http.state import Served
from latentstack.interfaces import GenerationConfig, Generator
from latentstack.testing import GeneratorContract

CHAT = "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def served() -> Served:
    return Served(generator="llm", generator_options={"model": CHAT})


@pytest.fixture(scope="module")
def url(served: Served) -> Iterator[str]:
    running = InThread(build_app(served))
    yield f"{running.url}/v1"
    running.stop()


class TestAgainstAServer(GeneratorContract):
    """The contract, each answer written by the server's model."""

    @pytest.fixture
    def generator(self, url: str) -> Generator:
        return get_generator("openai", base_url=url, model=CHAT)


def test_the_answer_is_the_served_models(url: str, served: Served) -> None:
    """Greedy answers through the server are the served generator's own, stop strings and all."""
    remote = get_generator("openai", base_url=url, model=CHAT)
    options = GenerationConfig(max_new_tokens=16)
    ask = "Name three rivers in Europe."
    assert remote.generate(ask, options) == served.generator_instance().generate(ask, options)
    messages = [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Capital of Italy?"}]
    assert remote.generate(messages, options) == served.generator_instance().generate(messages, options)
    banned = served.generator_instance().raw_tokens(remote.generate(ask, options))[0]
    shifted = GenerationConfig(max_new_tokens=16, frequency_penalty=1.2, presence_penalty=0.3, logit_bias={banned: -50})
    assert remote.generate(ask, shifted) == served.generator_instance().generate(ask, shifted) != remote.generate(
        ask, options)
    hot = GenerationConfig(max_new_tokens=16, temperature=1.5, seed=1)
    assert remote.generate(ask, attrs.evolve(hot, top_k=1)) == remote.generate(ask, options) != remote.generate(ask, hot)


def test_scores_and_schemas_go_through_the_server(url: str, served: Served) -> None:
    """Log-probabilities asked of the server are the served generator's own; a JSON schema goes as response_format
    and the server's answer follows it."""
    remote = get_generator("openai", base_url=url, model=CHAT)
    local = served.generator_instance()
    options = GenerationConfig(max_new_tokens=8)
    ask = "What is the capital of France? One word."
    theirs = [t for p in remote.stream_scored(ask, options, 2) for t in p.tokens]
    ours = [t for p in local.stream_scored(ask, options, 2) for t in p.tokens]
    assert [(t.token, t.utf8) for t in theirs] == [(t.token, t.utf8) for t in ours] and theirs
    # to rounding: the served generator read the prompt in other passes than it read it for the request before
    assert [t.logprob for t in theirs] == pytest.approx([t.logprob for t in ours], abs=1e-4)
    assert [[a.token for a in t.top] for t in theirs] == [[a.token for a in t.top] for t in ours]
    schema = {"type": "object", "properties": {"city": {"enum": ["Paris", "Rome"]}}, "required": ["city"],
              "additionalProperties": False}
    held = GenerationConfig(max_new_tokens=12, json_schema=schema)
    assert json.loads(remote.generate(ask, held)) == json.loads(local.generate(ask, held)) == {"city": "Paris"}


def test_ask_retrieves_here_and_the_server_writes(url: str, tmp_path: Path) -> None:
    """`ask --generator openai` answers from the index's passages with citations, the server's model writing."""
    from latentstack.search import Collection, Document

    col = Collection.create(tmp_path / "kb", embedder_options={"show_progress": False})
    col.add_documents([Document("bread", "Bread dough rises because yeast ferments sugars into carbon dioxide."),
                       Document("tides", "Tides follow the pull of the moon on the oceans.")])
    col.save()
    out = CliRunner().invoke(cli, ["-q", "ask", str(tmp_path / "kb"), "Why does bread dough rise?", "--no-server",
                                   "--generator", "openai", "-g", f"base_url={url}", "--model", CHAT, "--json"])
    assert out.exit_code == 0, out.output
    answer = json.loads(out.output)
    assert answer["relevant"] and answer["passages"][0]["doc_id"] == "bread" and answer["answer"].strip()


def test_a_server_that_cannot_answer_is_one_line_saying_what_to_do(url: str) -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConfigError, match=r"cannot reach the chat server at http://127.0.0.1:\d+/v1: start it"):
        get_generator("openai", base_url=f"http://127.0.0.1:{port}/v1", model=CHAT, timeout=5).generate("Hi")
    with pytest.raises(UnknownNameError, match="has no model 'llama3'.*GET .*/models lists its models"):
        get_generator("openai", base_url=url, model="llama3").generate("Hi")
    with pytest.raises(ConfigError, match="the openai generator needs --model"):
        get_generator("openai", base_url=url).generate("Hi")


def test_a_server_that_ignores_logprobs_is_one_line() -> None:
    """Asked for log-probabilities, a server that sends text without them (one that ignores the field) is an
    InputError naming it, not an answer with no scores."""
    from openai.types.chat import ChatCompletionChunk

    from latentstack.errors import InputError
    from latentstack_remote.generator import _scores

    chunk = ChatCompletionChunk.model_validate({
        "id": "x", "object": "chat.completion.chunk", "created": 0, "model": CHAT,
        "choices": [{"index": 0, "delta": {"content": "Paris"}, "finish_reason": None}]})
    assert _scores(chunk, None, "http://h/v1") == ()
    with pytest.raises(InputError, match="the chat server at http://h/v1 sends no log-probabilities"):
        _scores(chunk, 2, "http://h/v1")


def test_a_server_that_sends_no_usage_is_counted_within_the_budget() -> None:
    """A server that streams no usage (stream_options ignored): the tokens are the text's estimate, at most the
    budget, and the finish reason is the server's."""
    import http.server
    import threading

    words = " ".join(["word"] * 20)
    events = [{"id": "x", "object": "chat.completion.chunk", "created": 0, "model": CHAT,
               "choices": [{"index": 0, "delta": {"content": words}, "finish_reason": None}]},
              {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": CHAT,
               "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode() + b"data: [DONE]\n\n"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        remote = get_generator("openai", base_url=f"http://127.0.0.1:{server.server_port}/v1", model=CHAT)
        *pieces, last = remote.stream_answer("Say words.", GenerationConfig(max_new_tokens=6))
    finally:
        server.shutdown()
    assert "".join(p.text for p in pieces) == words
    assert last.finish is not None and (last.finish.reason, last.finish.tokens) == ("length", 6)
