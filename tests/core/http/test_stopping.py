"""Ctrl-C stops `serve --http` while answers are being written: the requests under way get a short grace, then
their answers stop (the client sees the stream cut, not a finished answer) and the process exits. Before, the
server waited for every answer under way to end (a 1,024-token answer, or here one that never ends).

The server runs in a process of its own (signals), its generator a plumbing stand-in that writes until stopped.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
SERVER = """
import sys
from tests.core.http.test_disconnect import SlowEndless
from latentstack.http.run import serve_http
from latentstack.http.state import Served

gen = SlowEndless()
served = Served(generator="endless", generator_options={"model": "endless"}, loaded={"generator": gen})
serve_http(served, port=int(sys.argv[1]), warm_up=False)
print("stopped; its answer closed:", gen.stops.acquire(timeout=0), flush=True)
"""


def test_ctrl_c_stops_a_server_whose_answers_write_on() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], cwd=ROOT, stdout=subprocess.PIPE,
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
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=60)  # before: still writing after 60 s
        reader.join(30)
        assert server.returncode == 0 and "stopped; its answer closed: True" in out, out
        assert ended == ["RemoteProtocolError"] and "data: [DONE]" not in lines  # cut, not passed off as finished
    finally:
        if server.poll() is None:
            server.kill()
