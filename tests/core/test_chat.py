"""`latentstack chat` and the Conversation behind it: history carried, trimmed to the context window, reset."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from latentstack import get_generator
from latentstack.chat import Conversation
from latentstack.errors import InputError
from latentstack.interfaces import GenerationConfig

from ..conftest import run_cli


@pytest.fixture(scope="module")
def gen(tiny_llama_dir: Path):  # noqa: ANN201
    return get_generator("llm", model=str(tiny_llama_dir))


def test_each_answer_reads_the_conversation_so_far(gen) -> None:  # noqa: ANN001
    options = GenerationConfig(max_new_tokens=6)
    talk = Conversation(gen, options, system="Be brief.")
    first = "".join(talk.turn("My name is Ada."))
    second = "".join(talk.turn("What is my name?"))
    said = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "My name is Ada."},
            {"role": "assistant", "content": first}, {"role": "user", "content": "What is my name?"}]
    assert second == gen.generate(said, options)
    assert [m["role"] for m in talk.history] == ["user", "assistant", "user", "assistant"]
    talk.reset()
    assert talk.history == [] and "".join(talk.turn("What is my name?")) == gen.generate([said[0], said[3]], options)


def test_the_oldest_exchanges_give_way_to_the_context_window(gen, capsys: pytest.CaptureFixture[str],  # noqa: ANN001
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LATENTSTACK_QUIET", raising=False)
    options = GenerationConfig(max_new_tokens=8)
    talk = Conversation(gen, options)
    long = "many words about tides " * 40
    for _ in range(6):
        "".join(talk.turn(long))
        assert gen.count_prompt_tokens(talk.history) <= gen.context_window  # the last prompt and its answer fit
    assert "outgrew the model's context window of 2048 tokens: dropped its oldest" in capsys.readouterr().err
    assert 2 <= len(talk.history) < 12  # some exchanges kept, the oldest dropped
    assert len(talk.transcript) == 12 and talk.transcript[-len(talk.history):] == talk.history  # a saved chat keeps all
    as_dict = Conversation(gen, {"max_new_tokens": 8})  # options as a dict, as generate() takes them
    as_dict.history = list(talk.history)
    "".join(as_dict.turn(long))  # was an AttributeError once there was history to fit
    assert as_dict.options == options and len(as_dict.history) <= len(talk.history) + 2
    kept = list(talk.history)
    with pytest.raises(InputError, match="context window"):
        "".join(talk.turn(long * 10))  # too long by itself: refused, and the conversation is as it was
    assert talk.history == kept


def test_chat_over_a_pipe(tiny_llama_dir: Path) -> None:
    """Each line is a message; /reset forgets; an unknown /command and a line that is not UTF-8 are said and
    skipped; /exit ends the chat before the lines after it."""
    lines = b"My name is Ada.\n\n/foo\nWhat is my name?\n\xff\xfe bad\n/reset\nWhat is my name?\n/exit\nnever read\n"
    out = run_cli("chat", "--model", str(tiny_llama_dir), "--max-new-tokens", "6", stdin=lines,
                  env={"LATENTSTACK_QUIET": ""})
    err = out.stderr
    assert out.returncode == 0, err[-2000:]
    answers = out.stdout.split("\n")[:-1]
    assert len(answers) >= 3  # three messages answered (an answer may hold line breaks of its own)
    assert "unknown command /foo" in err and "that line is not UTF-8" in err and "forgotten" in err
    assert "Traceback" not in err


def test_chat_holds_each_answer_to_a_schema(tiny_llama_dir: Path) -> None:
    """--schema: every answer of the conversation is a JSON value the schema allows; one cut by --max-new-tokens is
    said and the chat goes on; a schema that cannot be followed is one line before the model loads."""
    import json

    schema = '{"type": "object", "properties": {"n": {"enum": [1, 2, 3]}}, "required": ["n"]}'
    chat = ["chat", "--model", str(tiny_llama_dir), "--schema", schema]
    quietless = {"LATENTSTACK_QUIET": ""}
    out = run_cli(*chat, "--max-new-tokens", "20", stdin=b"count\nagain\n", env=quietless)
    assert out.returncode == 0, out.stderr[-2000:]
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(answers) == 2 and all(a["n"] in (1, 2, 3) for a in answers)
    cut = run_cli(*chat, "--max-new-tokens", "2", stdin=b"count\nagain\n", env=quietless)
    assert cut.returncode == 0 and cut.stderr.count("before its JSON value closed") == 2, cut.stderr
    bad = run_cli(*chat[:-1], '{"type": 3}', stdin=b"count\n", env=quietless)
    err = bad.stderr
    assert bad.returncode == 1 and "the JSON schema cannot be followed: type must be a string" in err, err
    assert len(err.strip().splitlines()) == 1 and not bad.stdout


def _chat(model: Path, history: Path, lines: bytes, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("-q", "chat", "--model", str(model), "--max-new-tokens", "6", "--history", str(history), *extra,
                   stdin=lines)


def test_a_kept_conversation_goes_on_where_it_stopped(gen, tiny_llama_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    """chat forgot everything when it ended (`llm chat -c` goes on): --history keeps each exchange as it ends, the
    next chat answers in the light of it, /reset starts a new conversation below it, and --system may not
    change a conversation's own."""
    import json

    history = tmp_path / "talks.jsonl"
    first = _chat(tiny_llama_dir, history, b"My name is Ada.\n/reset\nHello.\nWho am I?\n", "--system", "Be brief.")
    assert first.returncode == 0, first.stderr[-2000:]
    rows = [json.loads(line) for line in history.read_text().splitlines()]
    assert [[m["role"] for m in r["messages"]] for r in rows] == [["system", "user", "assistant"],
                                                                  ["system", "user", "assistant", "user", "assistant"]]
    said = rows[1]["messages"]
    again = _chat(tiny_llama_dir, history, b"And now?\n")
    assert again.returncode == 0, again.stderr[-2000:]
    options = GenerationConfig(max_new_tokens=6)
    assert again.stdout.rstrip("\n") == gen.generate([*said, {"role": "user", "content": "And now?"}], options).rstrip("\n")
    rows = [json.loads(line) for line in history.read_text().splitlines()]
    assert len(rows) == 2 and rows[1]["messages"][:5] == said and rows[1]["messages"][5]["content"] == "And now?"
    before = history.read_bytes()
    other = _chat(tiny_llama_dir, history, b"x\n", "--system", "Be long.")
    assert other.returncode == 1 and "has its own system message; --system would change" in other.stderr
    assert history.read_bytes() == before


def test_two_chats_do_not_keep_one_file(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """A second chat on the file another chat keeps would overwrite its exchanges; it is refused, nothing changed."""
    import time

    history = tmp_path / "talks.jsonl"
    first = subprocess.Popen([sys.executable, "-m", "latentstack", "-q", "chat", "--model", str(tiny_llama_dir),
                              "--max-new-tokens", "4", "--history", str(history)], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert first.stdin is not None
        first.stdin.write(b"Hello.\n")
        first.stdin.flush()
        deadline = time.monotonic() + 120
        while not history.exists() and time.monotonic() < deadline:  # saved once answered: the first holds the file
            time.sleep(0.1)
        kept = history.read_bytes()
        second = _chat(tiny_llama_dir, history, b"Overwrite?\n")
        assert second.returncode == 1 and "another chat keeps its conversation in" in second.stderr
        assert history.read_bytes() == kept
    finally:
        first.communicate(b"/exit\n", timeout=120)
    assert first.returncode == 0


def test_verbose_says_how_each_answer_was_read_and_written(tiny_llama_dir: Path) -> None:
    """-v: after each answer, its prompt's tokens (those the last answer's KV cache held), the seconds to its first
    piece and its tokens (ollama run --verbose's figures); the second turn reads only what the first did not."""
    import re

    out = run_cli("-v", "chat", "--model", str(tiny_llama_dir), "--max-new-tokens", "6",
                  stdin=b"My name is Ada.\nWhat is my name?\n", env={"LATENTSTACK_QUIET": ""})
    err = out.stderr
    assert out.returncode == 0, err[-2000:]
    said = re.findall(r"prompt: (\d+) tokens(?: \((\d+) kept from the last answer\))?, first piece after [\d.]+ s; "
                      r"answer: (\d+) tokens in [\d.]+ s", err)
    assert len(said) == 2, err[-2000:]
    (first, kept_first, used_first), (second, kept, used) = said
    assert kept_first == "" and 0 < int(first) < int(kept) < int(second)  # the first prompt and more was kept
    assert 0 < int(used_first) <= 6 and 0 < int(used) <= 6


def test_a_generator_that_estimates_its_tokens_is_not_said_to_count_them() -> None:
    from latentstack.answer_timing import exact_prompt_tokens

    remote = get_generator("openai", base_url="http://127.0.0.1:9/v1", model="any")
    assert exact_prompt_tokens(remote, "a question") is None
