"""`serve --http --onnx`: served classifiers trained on the export's model, and /v1/embeddings requests for that
model, embed with the export (no torch in the server); other classifiers keep their own features, named at start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from latentstack.testing.classifier_contract import TRAIN

TEXTS = ["WIN a free prize, text now", "see you at lunch tomorrow"]


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A hybrid MiniLM + TF-IDF classifier (the export's model) and a TF-IDF one, trained on the tiny spam set."""
    from latentstack import get_classifier

    root = tmp_path_factory.mktemp("served-classifiers")
    texts, labels = [t for t, _ in TRAIN], [lab for _, lab in TRAIN]
    for name, options in {"hybrid": {"hybrid": True}, "tfidf": {"embedder": "tfidf"}}.items():
        get_classifier("linear", **options).fit(texts, labels).save(root / name)
    return {"hybrid": root / "hybrid", "tfidf": root / "tfidf"}


def test_classifiers_and_embeddings_of_the_exports_model_run_on_it(classifiers: dict[str, Path],
                                                                    minilm_int8: tuple[Path, Any]) -> None:
    """Over a real HTTP client: the hybrid's features come from the export, with the labels (and nearly the
    probabilities) it gives with torch; the TF-IDF classifier is named with why it keeps its own features, and
    classifies as before; /v1/embeddings for the export's model, or for ``onnx``, returns the export's vectors."""
    from latentstack import get_embedder, load_classifier
    from latentstack.http.app import build_app
    from latentstack.http.run import InThread
    from latentstack.http.state import Served

    export = get_embedder("onnx", model=str(minilm_int8[0]))
    served = Served(classifiers=classifiers, query_embedder=export)
    kept = served.export_fits()
    assert served.export_classifiers == {"hybrid"}
    assert list(kept) == ["tfidf"] and "trained on tfidf features" in kept["tfidf"]
    running = InThread(build_app(served))
    try:
        got = {name: httpx.post(f"{running.url}/v1/classify", json={"model": name, "input": TEXTS},
                                timeout=120).json()["data"] for name in classifiers}
        vectors = {name: httpx.post(f"{running.url}/v1/embeddings", json={"model": name, "input": TEXTS},
                                    timeout=120).json()["data"] for name in ("minilm", "onnx")}
        listed = {m["id"] for m in httpx.get(f"{running.url}/v1/models", timeout=60).json()["data"]}
    finally:
        running.stop()
    assert served.classifier("hybrid").features.embedders[0].name == "onnx"
    for name in ("minilm", "onnx"):  # the model's name, and the export's embedder by its own
        assert np.allclose([v["embedding"] for v in vectors[name]], export.embed_many(TEXTS), atol=1e-6)
    assert {"onnx", "minilm", "hybrid", "tfidf"} <= listed
    for name, path in classifiers.items():
        own = load_classifier(path)
        assert [row["label"] for row in got[name]] == own.predict(TEXTS) == ["spam", "ham"]
        proba = np.array([[row["probabilities"][c] for c in own.classes] for row in got[name]])
        assert np.abs(proba - own.predict_proba(TEXTS)).max() < (0.05 if name == "hybrid" else 1e-4)


@pytest.mark.slow
def test_serve_http_with_the_export_classifies_without_importing_torch(
        classifiers: dict[str, Path], minilm_int8: tuple[Path, Any], tmp_path: Path) -> None:
    """A real `serve --http --onnx --no-generator` process answers /v1/classify and never imports torch."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "serve.log"  # a file, not a pipe: nobody reads a pipe while it runs, and it would fill
    with log.open("w") as sink:
        server = subprocess.Popen([sys.executable, "-m", "latentstack", "serve", "--http", "--port", str(port),
                                   "--onnx", str(minilm_int8[0]), "--classifier", f"spam={classifiers['hybrid']}",
                                   "--no-generator"],
                                  env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}, stdout=subprocess.DEVNULL,
                                  stderr=sink)
    try:
        url, deadline, labels = f"http://127.0.0.1:{port}", time.time() + 240, None
        while labels is None and time.time() < deadline and server.poll() is None:
            try:
                reply = httpx.post(f"{url}/v1/classify", json={"model": "spam", "input": TEXTS}, timeout=120)
                labels = [row["label"] for row in reply.json()["data"]]
            except httpx.TransportError:
                time.sleep(0.5)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    err = log.read_text()
    assert labels == ["spam", "ham"], err[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in err.splitlines()
                if line.startswith("import time")}
    assert "latentstack_onnx" in imported and not {"torch", "transformers"} & imported
