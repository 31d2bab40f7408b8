"""An index of MiniLM vectors searched (and asked) with MiniLM's ONNX export: the same hits, without importing torch;
an export of another model (or pooling) is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from latentstack.errors import ModelMismatchError

from ...conftest import run_cli

DOCS = {
    "bread": "Bread dough rises because yeast ferments sugars and releases carbon dioxide.",
    "volcano": "A volcano erupts when magma rises through cracks in the crust.",
    "tides": "Tides follow the moon's pull on the oceans, twice a day.",
    "chess": "In chess, the knight moves in an L shape and can jump over pieces.",
}
QUERY = "why does a loaf of bread get bigger"

#: Loads the index with the export as its query embedder, searches, and says which heavy libraries it imported.
SEARCH_ONLY = """
import json, sys
from latentstack import get_embedder
from latentstack.search import Collection
col = Collection.load(sys.argv[1], query_embedder=get_embedder("onnx", model=sys.argv[2]))
hits = col.search(sys.argv[3], k=4, hybrid=False)
print(json.dumps({"ids": [h.doc_id for h in hits], "scores": [h.score for h in hits],
                  "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}))
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from latentstack.search import Collection, Document

    path = tmp_path_factory.mktemp("query-runtime") / "idx"
    col = Collection.create(path)
    col.add_documents(Document(doc_id, text) for doc_id, text in DOCS.items())
    col.save()
    return path


def _cls_index(path: Path) -> Path:
    """The same documents indexed with [CLS] pooling, which a mean-pooling export does not reproduce."""
    from latentstack.search import Collection, Document

    col = Collection.create(path, embedder_options={"pooling": "cls"})
    col.add_documents([Document(doc_id, text) for doc_id, text in DOCS.items()])
    col.save()
    return path


def test_the_export_finds_what_torch_finds_without_importing_torch(index: Path, minilm_int8: tuple[Path, Any]) -> None:
    """Dense ranking by the export's query vectors equals the index's own embedder's, in a process that never
    imported torch or transformers; the CLI's --onnx gives the same fused ranking as without it."""
    from latentstack.search import Collection

    export, _ = minilm_int8
    own = Collection.load(index).search(QUERY, k=4, hybrid=False)
    out = subprocess.run([sys.executable, "-c", SEARCH_ONLY, str(index), str(export), QUERY], capture_output=True,
                         text=True, check=True, timeout=300)
    found = json.loads(out.stdout.splitlines()[-1])
    assert found["ids"] == [h.doc_id for h in own]
    assert max(abs(a - h.score) for a, h in zip(found["scores"], own, strict=True)) < 0.02  # int8 queries
    assert not found["torch"] and not found["transformers"]
    plain, onnx = (run_cli("-q", "search", str(index), QUERY, "--json", *extra, check=True)
                   for extra in ([], ["--onnx", str(export)]))
    assert [h["doc_id"] for h in json.loads(onnx.stdout)["hits"]] == [h["doc_id"] for h in json.loads(plain.stdout)["hits"]]


def test_an_export_of_another_pooling_is_refused(index: Path, tmp_path: Path, minilm_int8: tuple[Path, Any]) -> None:
    """An index built with [CLS] pooling is not searched with a mean-pooling export: one clear error, in Python and
    at the command line."""
    from latentstack import get_embedder
    from latentstack.search import Collection

    export, _ = minilm_int8
    other = _cls_index(tmp_path / "cls-idx")
    with pytest.raises(ModelMismatchError, match="export the index's own model"):
        Collection.load(other, query_embedder=get_embedder("onnx", model=str(export)))
    refused = run_cli("search", str(other), QUERY, "--onnx", str(export))
    assert refused.returncode == 1 and "export the index's own model" in refused.stderr
    assert "Traceback" not in refused.stderr


def _ask(index: Path, generator: Path, *extra: str) -> tuple[dict[str, Any], set[str]]:
    """`ask --json` with the onnx generator: its answer, and the top-level modules the process imported."""
    done = run_cli("-q", "ask", str(index), QUERY, "-k", "2", "--min-score", "-1", "--json",
                   "--no-server", "--generator", "onnx", "--model", str(generator), *extra,
                   env={"PYTHONPROFILEIMPORTTIME": "1"}, check=True)
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines()
                if line.startswith("import time")}
    return json.loads(done.stdout.splitlines()[-1]), imported


def test_ask_with_the_export_retrieves_what_torch_retrieves_without_importing_torch(
        index: Path, minilm_int8: tuple[Path, Any], tiny_export: Path) -> None:
    """`ask --onnx` on a torch-built index: the same passages as the index's own embedder retrieves, and with the
    onnx generator the process imports neither torch nor transformers (without --onnx it imports both)."""
    plain, plain_imports = _ask(index, tiny_export)
    onnx, onnx_imports = _ask(index, tiny_export, "--onnx", str(minilm_int8[0]))
    assert [p["doc_id"] for p in onnx["passages"]] == [p["doc_id"] for p in plain["passages"]]
    assert onnx["passages"][0]["doc_id"] == "bread"
    assert {"torch", "transformers"} <= plain_imports
    assert not {"torch", "transformers"} & onnx_imports


def test_ask_refuses_an_export_of_another_pooling_before_loading_anything(
        tmp_path: Path, minilm_int8: tuple[Path, Any]) -> None:
    """The export is checked against the index first: one line, no generator loaded (none is named that exists)."""
    other = _cls_index(tmp_path / "cls-idx")
    refused = run_cli("ask", str(other), QUERY, "--onnx", str(minilm_int8[0]), "--model", str(tmp_path / "none"))
    assert refused.returncode == 1 and "export the index's own model" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_serve_with_the_export_answers_ask_without_importing_torch(
        index: Path, minilm_int8: tuple[Path, Any], tiny_export: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve --onnx` with the onnx generator: `ask` answers through it with the passages a plain `ask` retrieves,
    and the server process never imports torch or transformers."""
    import shutil
    import signal
    import tempfile
    import time

    from latentstack.cli.ask_cmd import _settings
    from latentstack.cli.generate_cmd import generator_options
    from latentstack.rag.server import connect, socket_path

    home = tempfile.mkdtemp(prefix="ls-", dir="/tmp")  # Unix socket paths are limited to ~104 bytes
    monkeypatch.setenv("LATENTSTACK_HOME", home)
    gen = ["--generator", "onnx", "--model", str(tiny_export), "-k", "2", "--min-score", "-1"]
    path = socket_path(index, _settings("onnx", generator_options(str(tiny_export), None, None, ()), 2, True, -1.0))
    log = Path(home) / "serve.log"  # a file, not a pipe: nobody reads a pipe while it runs, and it would fill
    with log.open("w") as sink:
        server = subprocess.Popen([sys.executable, "-m", "latentstack", "serve", str(index), *gen, "--onnx",
                                   str(minilm_int8[0])], env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},
                                  stdout=subprocess.DEVNULL, stderr=sink)
    try:
        deadline = time.time() + 240
        while (probe := connect(path)) is None and time.time() < deadline and server.poll() is None:
            time.sleep(0.5)
        assert probe is not None, f"the server did not start: {log.read_text()[-2000:]}"
        probe.close()
        via = run_cli("ask", str(index), QUERY, "--json", *gen, check=True)
        alone = run_cli("-q", "ask", str(index), QUERY, "--json", "--no-server", *gen, check=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        err = log.read_text()
        shutil.rmtree(home, ignore_errors=True)
    assert "answering through the server" in via.stderr
    got, want = (json.loads(r.stdout.splitlines()[-1]) for r in (via, alone))
    assert [p["doc_id"] for p in got["passages"]] == [p["doc_id"] for p in want["passages"]]
    assert got["passages"][0]["doc_id"] == "bread"
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in err.splitlines()
                if line.startswith("import time")}
    assert "latentstack_onnx" in imported and not {"torch", "transformers"} & imported


def test_the_http_server_searches_with_the_export(index: Path, minilm_int8: tuple[Path, Any]) -> None:
    """An HTTP server given the export (``serve --http --onnx``) embeds /v1/search queries with it: the index's own
    dense ranking, over a real HTTP client."""
    import httpx

    from latentstack import get_embedder
    from latentstack.http.app import build_app
    from latentstack.http.run import InThread
    from latentstack.http.state import Served
    from latentstack.search import Collection

    own = [h.doc_id for h in Collection.load(index).search(QUERY, k=4, hybrid=False)]
    served = Served(indexes={"kb": index}, query_embedder=get_embedder("onnx", model=str(minilm_int8[0])))
    running = InThread(build_app(served))
    try:
        hits = httpx.post(f"{running.url}/v1/search", json={"index": "kb", "query": QUERY, "k": 4, "hybrid": False},
                          timeout=120).json()["data"]
    finally:
        running.stop()
    assert [h["doc_id"] for h in hits] == own
    assert served.collection("kb").query_embedder.name == "onnx"


def test_serve_refuses_an_export_of_another_pooling_before_loading_anything(
        tmp_path: Path, minilm_int8: tuple[Path, Any]) -> None:
    """Each served index is checked against the export at start: one line, nothing loaded, socket or HTTP."""
    other = _cls_index(tmp_path / "cls-idx")
    for extra in ([], ["--http", "--port", "1"]):
        refused = run_cli("serve", str(other), "--onnx", str(minilm_int8[0]), "--model", str(tmp_path / "none"),
                          *extra)
        assert refused.returncode == 1 and "export the index's own model" in refused.stderr
        assert "Traceback" not in refused.stderr
