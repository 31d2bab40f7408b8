"""The file `chat --history` keeps conversations in: the last one goes on, everything else is kept as written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from latentstack.chat_file import ChatFile
from latentstack.data.sft import load_sft
from latentstack.errors import InputError

EARLIER = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}], "id": 7}\r\n'
LAST = {"messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "2+2?"}]},
                     {"role": "assistant", "content": "4", "name": "bot"}], "source": "mine"}


def _exchange(question: str, answer: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


def test_the_last_conversation_goes_on_and_nothing_written_is_changed(tmp_path: Path) -> None:
    """Earlier lines stay byte for byte (CRLF line ends, their own keys); the continued line keeps its keys and its messages
    as written (a developer role, content in parts, a name), new messages only added after them."""
    path = tmp_path / "talks.jsonl"
    path.write_bytes((EARLIER + json.dumps(LAST) + "\n").encode())
    kept = ChatFile(path)
    assert kept.system == "Be brief." and kept.messages == [*_exchange("2+2?", "4")]
    kept.save([*kept.messages, *_exchange("3+3?", "6")])
    text = path.read_bytes().decode()
    assert text.startswith(EARLIER)
    row = json.loads(text[len(EARLIER):])
    assert row["source"] == "mine" and row["messages"][:3] == LAST["messages"]
    assert row["messages"][3:] == _exchange("3+3?", "6")
    assert load_sft(path)[1][-1] == {"role": "assistant", "content": "6"}  # adapt sft reads it as it is


def test_a_new_conversation_goes_below_and_a_new_file_is_made(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    kept = ChatFile(path)
    kept.system = "Be kind."
    kept.save([])  # nothing said: nothing written
    assert not path.exists()
    kept.save(_exchange("a", "b"))
    kept.new_conversation()
    kept.save(_exchange("c", "d"))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [[m["content"] for m in r["messages"]] for r in rows] == [["Be kind.", "a", "b"], ["Be kind.", "c", "d"]]
    again = ChatFile(path)
    assert again.system == "Be kind." and again.messages == _exchange("c", "d")


@pytest.mark.parametrize(("line", "words"), [
    ("not json", "not valid JSON"),
    ('{"prompt": "a", "completion": "b"}', 'not a {"messages": [...]} conversation'),
    ('{"messages": [{"role": "user", "content": "hi"}]}', "ends with a user message"),
    ('{"messages": [{"role": "usr", "content": "hi"}]}', "has role 'usr'"),
])
def test_a_last_line_chat_cannot_go_on_with_is_named(tmp_path: Path, line: str, words: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes((EARLIER + line + "\n\n").encode())
    with pytest.raises(InputError, match=rf"bad.jsonl:2: .*{re.escape(words)}"):
        ChatFile(path)
    assert path.read_bytes() == (EARLIER + line + "\n\n").encode()
