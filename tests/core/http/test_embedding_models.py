"""/v1/embeddings for a user's own model folder (serve --embedding-model), with its query and document prompts."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from latentstack.http.app import build_app
from latentstack.http.run import InThread, warm
from latentstack.http.state import Served

from ...conftest import run_cli

st = pytest.importorskip("sentence_transformers")
models = pytest.importorskip("sentence_transformers.models")


def test_a_folder_is_served_and_input_type_puts_its_prompts(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A sentence-transformers folder served as 'mine': input_type query and document give encode_query's and
    encode_document's vectors, none gives encode's; another input_type is a 400 naming the field."""
    body = models.Transformer(str(tiny_bert_dir), max_seq_length=16)
    folder = tmp_path / "mine"
    st.SentenceTransformer(modules=[body, models.Pooling(32, pooling_mode="cls"), models.Normalize()], device="cpu",
                           prompts={"query": "search_query: ", "document": "search_document: "}).save(str(folder))
    served = Served(generator=None, embedding_models={"mine": folder})
    warm(served)
    texts = ["the cat sat on the mat", "stock market fell"]
    reference = st.SentenceTransformer(str(folder), device="cpu")
    running = InThread(build_app(served))
    try:
        with httpx.Client(base_url=running.url, timeout=60) as http:
            got = {kind: http.post("/v1/embeddings", json={"model": "mine", "input": texts,
                                                           **({"input_type": kind} if kind else {})}).json()
                   for kind in ("query", "document", "")}
            bad = http.post("/v1/embeddings", json={"model": "mine", "input": texts, "input_type": "passage"})
            listed = {m["id"]: m["kind"] for m in http.get("/v1/models").json()["data"]}
    finally:
        running.stop()
    for kind, encode in (("query", reference.encode_query), ("document", reference.encode_document),
                         ("", reference.encode)):
        vectors = np.array([d["embedding"] for d in got[kind]["data"]])
        cosines = (vectors * encode(texts)).sum(axis=1)  # unit vectors; the served dtype may be bf16 (dtype auto)
        assert cosines.min() > 0.999, (kind, cosines)
    assert got["query"]["usage"]["prompt_tokens"] > got[""]["usage"]["prompt_tokens"]  # the prompt's tokens count
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "input_type"
    assert listed["mine"] == "embedding model"


def test_a_missing_folder_is_said_before_anything_loads(tmp_path: Path) -> None:
    out = run_cli("serve", "--http", "--no-generator", "--embedding-model", f"mine={tmp_path / 'nowhere'}")
    assert out.returncode == 1 and "nowhere" in out.stderr and "does not exist" in out.stderr, out.stderr
