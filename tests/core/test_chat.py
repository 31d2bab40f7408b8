"""`latentstack chat` and the Conversation behind it: history carried, trimmed to the context window, reset."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from latentstack import get_generator
from latentstack.chat import Conversation
from latentstack.errors import InputError
from latentstack.interfaces import GenerationConfig


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
    out = subprocess.run([sys.executable, "-m", "latentstack", "chat", "--model", str(tiny_llama_dir),
                          "--max-new-tokens", "6"], input=lines, capture_output=True, timeout=600, check=False,
                         env={**os.environ, "LATENTSTACK_QUIET": ""})
    err = out.stderr.decode()
    assert out.returncode == 0, err[-2000:]
    answers = out.stdout.decode().split("\n")[:-1]
    assert len(answers) >= 3  # three messages answered (an answer may hold line breaks of its own)
    assert "unknown command /foo" in err and "that line is not UTF-8" in err and "forgotten" in err
    assert "Traceback" not in err
