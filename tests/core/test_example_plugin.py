"""The example third-party plugin is discovered through its entry point and meets the contract."""

from __future__ import annotations

import json

import pytest

from latentstack.testing import EmbedderContract, GeneratorContract, IndexContract

from ..conftest import ROOT, run_cli, write_fake_dist

EXAMPLE = ROOT / "examples" / "latentstack-hello"


@pytest.fixture
def example_site(tmp_path):  # noqa: ANN001, ANN201
    """The example's own package plus a fake dist-info carrying its entry point."""
    return write_fake_dist(tmp_path, "latentstack-hello", {"hello": "latentstack_hello"})


def test_plugins_lists_example(example_site) -> None:  # noqa: ANN001
    """`latentstack plugins` lists the example with the embedder it registers."""
    out = run_cli("plugins", "--json", pythonpath=[example_site, EXAMPLE], check=True)
    rows = {p["name"]: p for p in json.loads(out.stdout)["plugins"]}
    assert rows["hello"]["status"] == "ok"
    assert rows["hello"]["registered"] == {"embedder": ["hello-hash"], "index": ["hello-flat"],
                                          "generator": ["hello-extract"]}
    assert rows["hello"]["dist"] == "latentstack-hello"


def test_example_usable_by_name(example_site, fake_dist, fresh_registry, monkeypatch) -> None:  # noqa: ANN001
    """Once installed, get_embedder('hello-hash') builds the example's embedder."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    fake_dist("latentstack-hello", {"hello": "latentstack_hello"})
    emb = fresh_registry().create("embedder", "hello-hash", dim=32)
    assert emb.embed_many(["a", "b"]).shape == (2, 32)


class TestExampleContract(EmbedderContract):
    """The example's HashEmbedder passes every contract test."""

    @pytest.fixture
    def embedder(self, monkeypatch):  # noqa: ANN001, ANN201
        """The example embedder, imported from its folder."""
        monkeypatch.syspath_prepend(str(EXAMPLE))
        from latentstack_hello.embedder import HashEmbedder

        return HashEmbedder.from_options(dim=48)


class TestExampleIndexContract(IndexContract):
    """The example's numpy index passes the dense Index contract."""

    @pytest.fixture
    def index(self, monkeypatch):  # noqa: ANN001, ANN201
        """An empty example index."""
        monkeypatch.syspath_prepend(str(EXAMPLE))
        from latentstack_hello.index import NumpyIndex

        return NumpyIndex.from_options()


class TestExampleGeneratorContract(GeneratorContract):
    """The example's extractive generator passes the Generator contract."""

    @pytest.fixture
    def generator(self, monkeypatch):  # noqa: ANN001, ANN201
        """The example generator."""
        monkeypatch.syspath_prepend(str(EXAMPLE))
        from latentstack_hello.generator import FirstSentenceGenerator

        return FirstSentenceGenerator.from_options()
