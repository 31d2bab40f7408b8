"""Ctrl-C stops `serve --http` while answers are being written: the requests under way get a short grace, then
their answers stop (the client sees the stream cut, not a finished answer) and the process exits. Before, the
server waited for every answer under way to end (a 1,024-token answer, or here one that never ends).

The server runs in a process of its own (signals), its generator a plumbing stand-in that writes until stopped.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[3]
SERVER = """
import signal, sys
from tests.core.http.test_disconnect import SlowEndless
from latentstack.http.run import serve_http
from latentstack.http.state import Served

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # as `serve --http` does: uvicorn raises it again once stopped
class Slow(SlowEndless):
    def stream(self, prompt, options=None):
        words = super().stream(prompt, options)
        yield from (next(words) for _ in range(int(sys.argv[3]) or 10**9))  # then closed: counted as a stop

gen = Slow()
served = Served(generator="endless", generator_options={"model": "endless"}, loaded={"generator": gen})
serve_http(served, port=int(sys.argv[1]), warm_up=False, stop_grace=int(sys.argv[2]))
print("stopped; its answer closed:", gen.stops.acquire(timeout=0), flush=True)
"""


def _stopped_while_answering(sent: int, grace: int, words: int = 0) -> tuple[Any, str, list[str], list[str]]:
    """A server with ``grace`` seconds to stop, sent ``sent`` while it streams an answer of ``words`` words (0:
    endless; a word every 50 ms): the server process, what it printed, how the client's stream ended, its lines."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(grace), str(words)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(f"{url}/health")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        lines: list[str] = []
        ended: list[str] = []

        def read() -> None:
            body = {"model": "endless", "messages": [{"role": "user", "content": "go on"}], "max_tokens": 1024,
                    "stream": True}
            try:
                with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=60) as reply:
                    lines.extend(reply.iter_lines())
                ended.append("whole")
            except httpx.TransportError as exc:
                ended.append(type(exc).__name__)

        reader = threading.Thread(target=read)
        reader.start()
        while len(lines) < 5 and reader.is_alive():
            time.sleep(0.05)
        server.send_signal(sent)
        out, _ = server.communicate(timeout=60)
        reader.join(30)
        return server, out, ended, lines
    finally:
        if server.poll() is None:
            server.kill()


def test_ctrl_c_stops_a_server_whose_answers_write_on() -> None:
    server, out, ended, lines = _stopped_while_answering(signal.SIGINT, 3)  # before: still writing after 60 s
    assert server.returncode == 0 and "stopped; its answer closed: True" in out, out
    assert ended == ["RemoteProtocolError"] and "data: [DONE]" not in lines  # cut, not passed off as finished


def test_a_longer_stop_grace_lets_an_answer_under_way_finish() -> None:
    """`serve --http --stop-grace 20`: SIGTERM (a container being stopped) lets a 5-second answer end whole, where the
    default 3 s would cut it."""
    server, out, ended, lines = _stopped_while_answering(signal.SIGTERM, 20, 100)
    assert server.returncode == 0, out
    chunks = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    assert ended == ["whole"] and "data: [DONE]" in lines and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "word " * 100
