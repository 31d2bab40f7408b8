"""``latentstack serve --http`` as a user starts it: a real process on a free port, a real client, then SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ...conftest import run_cli


def test_open_bind_without_a_key_and_several_indexes_without_http_are_refused(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    open_bind = run_cli("serve", str(a), "--http", "--host", "0.0.0.0")
    assert open_bind.returncode != 0 and "refusing to listen on 0.0.0.0 without --api-key" in open_bind.stderr
    two = run_cli("serve", str(a), str(b))
    assert two.returncode == 2 and "add --http" in two.stderr
    # Without --http the socket server starts: HTTP options were ignored, so `serve a --port 9000` was no HTTP server.
    socket_port = run_cli("serve", str(a), "--port", "9000", "--classifier", str(b))
    assert socket_port.returncode == 2
    assert "--port and --classifier apply to the HTTP server only: add --http or leave them out" in socket_port.stderr


def test_a_port_in_use_is_one_line_before_any_model_loads(tmp_path: Path) -> None:
    """uvicorn's bind error came after the models had loaded (seconds to a minute); now it comes first."""
    (tmp_path / "a").mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run_cli("-v", "serve", str(tmp_path / "a"), "--http", "--port", str(port), "--no-generator")
    assert out.returncode != 0 and f"cannot listen on 127.0.0.1:{port}" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and "bert:" not in out.stderr  # -v would show the embedder loading


@pytest.mark.slow
def test_serve_http_answers_a_real_client_until_stopped(tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"id": "bread", "text": "Bread dough rises because yeast ferments sugars."}\n'
                    '{"id": "tides", "text": "Tides follow the pull of the moon."}\n')
    run_cli("-q", "index", "build", str(tmp_path / "kb"), "--from", str(docs), check=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "latentstack", "-q", "serve", str(tmp_path / "kb"), "--http",
                             "--port", str(port), "--api-key", "k"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        url, headers = f"http://127.0.0.1:{port}", {"Authorization": "Bearer k"}
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if httpx.get(f"{url}/v1/models", headers=headers, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        hits = httpx.post(f"{url}/v1/search", json={"index": "kb", "query": "yeast", "k": 1}, headers=headers,
                          timeout=60).json()["data"]
        assert hits[0]["doc_id"] == "bread"
        assert httpx.get(f"{url}/v1/models", timeout=5).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
