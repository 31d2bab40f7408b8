"""OpenAI batch files answered offline (`latentstack batch`, vLLM's run-batch): each line through the server's own
routes, SmolLM2 and MiniLM for real; the answers are the server's for the same bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from latentstack.errors import InputError
from latentstack.http.batch import BatchRequest, answer_batch, read_requests
from latentstack.http.state import Served
from tests.conftest import run_cli

from .conftest import CHAT

ASK = [{"role": "user", "content": "What is the capital of France?"}]
LINES = [
    {"custom_id": "chat", "method": "POST", "url": "/v1/chat/completions",
     "body": {"model": CHAT, "messages": ASK, "max_tokens": 12}},
    {"custom_id": "two prompts", "method": "POST", "url": "/v1/completions",
     "body": {"prompt": ["Name a colour.", "Name a fruit."], "max_tokens": 8}},
    {"custom_id": "vectors", "method": "POST", "url": "/v1/embeddings", "body": {"model": "minilm", "input": ["hi", "sea"]}},
    {"custom_id": "wrong", "method": "POST", "url": "/v1/chat/completions",
     "body": {"messages": ASK, "max_tokens": "twelve"}},
    {"custom_id": "response", "method": "POST", "url": "/v1/responses",
     "body": {"input": "What is the capital of France?", "max_output_tokens": 12}},
]


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_batch_file_is_answered_as_the_server_answers_each_line(tmp_path: Path, chat_client: Any) -> None:
    out = tmp_path / "results.jsonl"
    done = run_cli("-q", "batch", str(_write(tmp_path / "in.jsonl", LINES)), "--out", str(out))
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["custom_id"] for r in results] == [line["custom_id"] for line in LINES]  # the input's order
    assert [r["response"]["status_code"] for r in results] == [200, 200, 200, 400, 200]
    chat, two, vectors, wrong, response = (r["response"]["body"] for r in results)
    served = chat_client.chat.completions.create(model=CHAT, messages=ASK, max_tokens=12)
    assert chat["choices"][0]["message"]["content"] == served.choices[0].message.content
    assert response["output"][0]["content"][0]["text"] == served.choices[0].message.content
    both = chat_client.completions.create(model=CHAT, prompt=["Name a colour.", "Name a fruit."], max_tokens=8)
    assert [c["text"] for c in two["choices"]] == [c.text for c in both.choices]
    direct = chat_client.embeddings.create(model="minilm", input=["hi", "sea"])
    assert np.allclose([d["embedding"] for d in vectors["data"]], [d.embedding for d in direct.data], atol=1e-5)
    assert "'max_tokens' must be an integer" in wrong["error"]["message"]
    assert all(r["id"].startswith("batch_req_") and r["error"] is None for r in results)


@pytest.mark.parametrize(("line", "said"), [
    ("not json", "in.jsonl:2: not valid JSON"),
    (json.dumps({**LINES[0], "custom_id": "vectors"}), "in.jsonl:2: custom_id 'vectors' is also"),
    (json.dumps({**LINES[0], "url": "/v1/files"}), "url '/v1/files' is not one this batch answers"),
    (json.dumps({**LINES[0], "body": {**LINES[0]["body"], "stream": True}}), "leave 'stream' out"),
    (json.dumps({**LINES[0], "method": "GET"}), "method must be POST"),
    (json.dumps({"custom_id": "x"}), "a batch line is a JSON object with custom_id, method, url, body"),
])
def test_a_bad_line_is_one_error_naming_it_before_anything_loads(tmp_path: Path, line: str, said: str) -> None:
    (tmp_path / "in.jsonl").write_text(json.dumps(LINES[2]) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=said):
        read_requests(tmp_path / "in.jsonl")


def test_the_results_never_replace_a_file_of_another_kind(tmp_path: Path) -> None:
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"mine": 1}\n', encoding="utf-8")
    done = run_cli("batch", str(_write(tmp_path / "in.jsonl", LINES[2:3])), "--out", str(notes))
    assert done.returncode != 0 and "does not hold batch results" in done.stderr
    assert notes.read_text(encoding="utf-8") == '{"mine": 1}\n'


def test_requests_are_answered_together_where_the_generator_decodes_several(packs: list[list[int]]) -> None:
    served = Served(generator="llm", generator_options={"model": CHAT, "parallel": 3})
    served.generator_instance()
    packs.clear()  # the passes of the answers, not of the generator's warm-up
    requests = [BatchRequest(f"q{i}", "/v1/chat/completions",
                             {"messages": [{"role": "user", "content": q}], "max_tokens": 8})
                for i, q in enumerate(["Name a river.", "Name a mountain.", "Name a city."])]
    answered: list[str] = []
    lines = answer_batch(served, requests, 3, lambda request, _: answered.append(request.custom_id))
    assert [line["response"]["status_code"] for line in lines] == [200] * 3 and len(answered) == 3
    assert max(map(len, packs)) > 1  # the three requests' rows shared passes


def test_a_fault_of_the_servers_is_that_requests_500_and_the_batch_goes_on() -> None:
    from tests.core.http.test_stream_errors import Faulty

    served = Served(generator="faulty", generator_options={"model": "faulty"}, loaded={"generator": Faulty()})
    requests = [BatchRequest("fails", "/v1/chat/completions", {"messages": [{"role": "user", "content": "go"}]}),
                BatchRequest("unknown", "/v1/embeddings", {"model": "no-such-model", "input": "x"})]
    fails, unknown = (line["response"] for line in answer_batch(served, requests, 2))
    assert fails["status_code"] == 500 and "RuntimeError: the accelerator went away" in fails["body"]["error"]["message"]
    assert unknown["status_code"] == 404 and "unknown embedding model 'no-such-model'" in unknown["body"]["error"]["message"]


def test_a_stopped_batch_goes_on_where_it_stopped(tmp_path: Path) -> None:
    """Ctrl-C half-way keeps the answers so far in OUT.part; the same command again answers only the rest, and the
    results hold every answer in the input's order (those kept are the same lines); other options are refused."""
    import os
    import signal
    import subprocess
    import sys
    import time

    lines = [{"custom_id": f"q{i}", "method": "POST", "url": "/v1/chat/completions",
              "body": {"messages": [{"role": "user", "content": f"Count from {i} to {i + 20}."}], "max_tokens": 32}}
             for i in range(10)]
    requests, out = _write(tmp_path / "in.jsonl", lines), tmp_path / "out.jsonl"
    part = tmp_path / "out.jsonl.part"
    command = [sys.executable, "-m", "latentstack", "batch", str(requests), "--out", str(out), "--concurrency", "2"]
    running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # a shell's background
    # jobs (a CI runner's, say) ignore Ctrl-C, and a process inherits that: this one takes it, as at a terminal
    waited = time.monotonic()
    while time.monotonic() - waited < 300 and (not part.exists() or part.read_text().count("\n") < 3):
        time.sleep(0.2)
    running.send_signal(signal.SIGINT)
    _, stderr = running.communicate(timeout=60)
    assert running.returncode == 130 and "run the same command again to go on" in stderr, stderr
    assert not out.exists()
    before = {json.loads(row)["line"]["custom_id"]: json.loads(row)["line"] for row in part.read_text().splitlines()[1:]
              if row.strip()}
    assert 2 <= len(before) < 10
    other = run_cli("batch", str(requests), "--out", str(out), "-g", "prompt_lookup=0")
    assert other.returncode != 0 and "with other options" in other.stderr and part.exists()
    again = run_cli("batch", str(requests), "--out", str(out), "--concurrency", "2", env={**os.environ})
    assert again.returncode == 0, again.stderr
    assert f"{len(before)} of 10 requests were answered before" in again.stderr
    results = [json.loads(row) for row in out.read_text().splitlines()]
    assert [r["custom_id"] for r in results] == [f"q{i}" for i in range(10)] and not part.exists()
    assert all(r["response"]["status_code"] == 200 for r in results)
    assert all(r == before[r["custom_id"]] for r in results if r["custom_id"] in before)  # kept, not answered anew


def test_a_part_file_of_another_kind_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "out.jsonl.part").write_text("my notes\n", encoding="utf-8")
    done = run_cli("batch", str(_write(tmp_path / "in.jsonl", LINES[2:3])), "--out", str(tmp_path / "out.jsonl"))
    assert done.returncode != 0 and "does not hold a batch's kept answers" in done.stderr
    assert (tmp_path / "out.jsonl.part").read_text(encoding="utf-8") == "my notes\n"


@pytest.mark.parametrize("left", ["", '{"latentstack_batch_ans'])
def test_a_part_file_stopped_before_its_header_was_whole_is_begun_anew(tmp_path: Path, left: str) -> None:
    """A batch killed between creating OUT.part and writing its first line left a file no run could go on from:
    it was refused as not a batch's answers."""
    from latentstack.http.batch_kept import KeptAnswers

    part = tmp_path / "out.jsonl.part"
    part.write_text(left, encoding="utf-8")
    kept = KeptAnswers(tmp_path / "out.jsonl", {"generator": "llm"})
    assert kept.earlier == {}
    request = BatchRequest("q1", "/v1/embeddings", {"input": "x"})
    kept.add(request, {"custom_id": "q1", "response": {"status_code": 200}})
    kept.handle.close()  # type: ignore[union-attr]
    again = KeptAnswers(tmp_path / "out.jsonl", {"generator": "llm"})
    assert again.answer(request) == {"custom_id": "q1", "response": {"status_code": 200}}
    part.write_text('{"my": "notes"', encoding="utf-8")  # a file of the user's own is still left alone
    with pytest.raises(InputError, match="does not hold a batch's kept answers"):
        KeptAnswers(tmp_path / "out.jsonl", {"generator": "llm"})


def test_a_second_batch_into_the_same_out_is_refused_at_once(tmp_path: Path) -> None:
    """Two runs into one OUT added to one OUT.part, and the first to end removed it under the other."""
    from click.testing import CliRunner

    from latentstack.cli import cli
    from tests.conftest import another_writer

    out = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.part").write_text('{"latentstack_batch_answers": {}}\n', encoding="utf-8")
    with another_writer(out) as pid:
        done = CliRunner().invoke(cli, ["batch", str(_write(tmp_path / "in.jsonl", LINES[2:3])), "--out", str(out)])
    assert done.exit_code != 0 and f"is being written by another batch run (pid {pid})" in done.output
    assert not out.exists() and (tmp_path / "out.jsonl.part").read_text() == '{"latentstack_batch_answers": {}}\n'
