"""The openai embedder against a real OpenAI-compatible server (latentstack's own, serving the real MiniLM on a
loopback port) through the real openai client: it meets the Embedder contract, its vectors are MiniLM's, an index
built with it searches, and the saved index holds no key and no dependence on the server's address."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from latentstack import get_embedder
from latentstack.errors import ConfigError, UnknownNameError
from latentstack.http.app import build_app
from latentstack.http.run import InThread
from latentstack.http.state import Served
from latentstack.interfaces import Embedder
from latentstack.testing import EmbedderContract


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    running = InThread(build_app(Served(generator=None)))
    yield f"{running.url}/v1"
    running.stop()


class TestAgainstAServer(EmbedderContract):
    """The contract, each vector computed by the server's MiniLM.

    The server runs MiniLM in bf16 where the CPU has bf16 units (``dtype`` auto), and batches
    requests together: a text's vector then moves by up to a few thousandths with the padding
    of the batch it shared, so batch and single agree to 5e-3 here, not 1e-5."""

    atol = 5e-3

    @pytest.fixture
    def embedder(self, url: str) -> Embedder:
        return get_embedder("openai", base_url=url, model="minilm", batch_size=3, show_progress=False)


def test_the_vectors_are_the_served_models(url: str) -> None:
    texts = ["A man is playing a guitar.", "Someone plays an instrument.", "The stock market fell."] * 3
    remote = get_embedder("openai", base_url=url, model="minilm", batch_size=4, show_progress=False).embed_many(texts)
    local = get_embedder("bert", show_progress=False).embed_many(texts)
    cos = (remote * local).sum(1) / np.linalg.norm(remote, axis=1) / np.linalg.norm(local, axis=1)
    assert remote.shape == (9, 384) and remote.dtype == np.float32 and cos.min() > 0.9999


def test_an_index_built_through_a_server_searches_and_keeps_no_address_in_its_identity(url: str, tmp_path: Path,
                                                                                        monkeypatch) -> None:  # noqa: ANN001
    from latentstack.search import Collection, Document

    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-test-key")
    col = Collection.create(tmp_path / "kb", embedder="openai",
                            embedder_options={"base_url": url, "model": "minilm", "show_progress": False})
    col.add_documents([Document("bread", "Bread dough rises because yeast ferments sugars."),
                       Document("tides", "Tides follow the pull of the moon on the oceans.")])
    col.save()
    hits = Collection.load(tmp_path / "kb").search("why does dough rise", k=1, hybrid=False)
    assert hits[0].doc_id == "bread"
    saved = "".join(p.read_text(errors="ignore") for p in (tmp_path / "kb").rglob("*.json"))
    assert "sk-secret-test-key" not in saved
    moved = get_embedder("openai", base_url="http://other-host:11434/v1", model="minilm")
    assert moved.fingerprint() == get_embedder("openai", base_url=url, model="minilm").fingerprint()


def test_a_server_that_cannot_embed_is_one_line_saying_what_to_do(url: str) -> None:
    with pytest.raises(UnknownNameError, match="the embedding server at .* has no model 'nomic-embed-text'"):
        get_embedder("openai", base_url=url, model="nomic-embed-text").embed_many(["x"])
    for use in ("embed_many", "fingerprint"):  # the fingerprint too: a server lists no embedder that cannot run
        with pytest.raises(ConfigError, match="the openai embedder needs a model"):
            getattr(get_embedder("openai", base_url=url), use)(*([["x"]] if use == "embed_many" else []))
    import httpx

    listed = {m["id"] for m in httpx.get(f"{url}/models", timeout=30).json()["data"]}
    assert "minilm" in listed and "openai" not in listed
    assert json.dumps(get_embedder("openai", base_url=url, model="m").config.to_dict())  # plain, saveable options
