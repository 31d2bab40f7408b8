"""Every hook has a test here and a line in the README, as datasette checks its own."""

from __future__ import annotations

import inspect
import types

import attrs
import click
import numpy as np
import pytest

from latentstack import hookimpl, hookspecs
from latentstack.interfaces import Adapter, Classifier, Embedder, Generator, Index
from latentstack.registry import Registry
from latentstack.sources.base import ModelSource, ResolvedModel
from latentstack.testing import registry_with

from ..conftest import ROOT

HOOKS = [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("register_")]


def test_every_hook_has_a_test() -> None:
    """Each hookspec has a test_<hook> function in this module."""
    missing = [h for h in HOOKS if f"test_{h}" not in globals()]
    assert HOOKS and not missing, missing


def test_every_hook_is_documented() -> None:
    """Each hook's signature appears in the README's plugin section."""
    readme = (ROOT / "README.md").read_text()
    missing = [h for h in HOOKS if f"{h}(" not in readme]
    assert not missing, missing


def test_every_hook_has_a_docstring() -> None:
    """Each hookspec says when it is called and what to register."""
    for h in HOOKS:
        doc = getattr(hookspecs, h).__doc__ or ""
        assert "Called" in doc, h


class ToyEmbedder(Embedder):
    name = "toy-emb"

    @property
    def dim(self) -> int:
        return 2

    def embed_batch(self, texts):  # noqa: ANN001, ANN201
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32).reshape(-1, 2)


def test_register_embedders() -> None:
    """A registered Embedder class is built by name with its options."""
    reg = registry_with(register_embedders=lambda register: register(ToyEmbedder, aliases=("toy2",)))
    emb = reg.create("embedder", "toy-emb", batch_size=4)
    assert emb.config.batch_size == 4
    assert emb.embed("abc").tolist() == [3.0, 1.0]
    assert reg.get_class("embedder", "toy2") is ToyEmbedder


class ToyIndex(Index):
    name = "toy-index"

    def add(self, ids, items, metadata=None):  # noqa: ANN001, ANN201
        pass

    def remove(self, ids):  # noqa: ANN001, ANN201
        return 0

    def search_batch(self, queries, k=10, where=None):  # noqa: ANN001, ANN201
        return [[] for _ in queries]

    def __len__(self) -> int:
        return 0

    def save(self, path):  # noqa: ANN001, ANN201
        pass

    @classmethod
    def load(cls, path):  # noqa: ANN001, ANN206
        return cls()


def test_register_indexes() -> None:
    """A registered Index class is found under its name."""
    reg = registry_with(register_indexes=lambda register: register(ToyIndex))
    assert reg.get_class("index", "toy-index") is ToyIndex


def test_an_abstract_class_is_refused_with_plugin_and_hook_named() -> None:
    """A class that leaves an abstract member unwritten cannot register, and cannot be built."""
    cls = type("HalfIndex", (Index,), {"name": "half"})
    reg = registry_with(register_indexes=lambda register: register(cls))
    assert reg.names("index") == []
    problem = reg.infos["toy"].errors[0]
    assert "'toy'" in problem and "register_indexes" in problem and "HalfIndex" in problem and "search_batch" in problem
    with pytest.raises(TypeError, match="abstract"):
        cls()


class ToyClf(Classifier):
    name = "toy-clf"

    def fit(self, texts, labels):  # noqa: ANN001, ANN201
        self.classes = sorted(set(labels))
        return self

    def predict_proba(self, texts):  # noqa: ANN001, ANN201
        return np.ones((len(texts), len(self.classes))) / len(self.classes)

    def save(self, path):  # noqa: ANN001, ANN201
        pass

    @classmethod
    def load(cls, path, *, embedder=None):  # noqa: ANN001, ANN206
        return cls()


def test_register_classifiers() -> None:
    """A registered Classifier class is found under its name."""
    reg = registry_with(register_classifiers=lambda register: register(ToyClf))
    assert reg.names("classifier") == ["toy-clf"]


class ToyAdapter(Adapter):
    name = "toy-adapter"

    def attach(self, model):  # noqa: ANN001, ANN201
        return model

    def save(self, model, path, base_fingerprint="", dtype="float32"):  # noqa: ANN001, ANN201
        pass

    def load(self, model, path, base_fingerprint="", *, name="default", trainable=False):  # noqa: ANN001, ANN201
        return model

    def check_base(self, path, base_fingerprint=""):  # noqa: ANN001, ANN201
        return path

    def saved_options(self, path):  # noqa: ANN001, ANN201
        return {}

    def merge(self, model):  # noqa: ANN001, ANN201
        return model

    def unload(self, model):  # noqa: ANN001, ANN201
        return model


def test_register_adapters() -> None:
    """A registered Adapter class is found under its name."""
    reg = registry_with(register_adapters=lambda register: register(ToyAdapter))
    assert reg.get_class("adapter", "toy-adapter") is ToyAdapter


def test_register_generators() -> None:
    """A registered Generator streams text through generate()."""

    class Echo(Generator):
        name = "echo"

        def stream(self, prompt, options=None):  # noqa: ANN001, ANN201
            yield from str(prompt).split()

    reg = registry_with(register_generators=lambda register: register(Echo))
    assert reg.create("generator", "echo").generate("a b c") == "abc"


def test_register_model_sources(tmp_path) -> None:  # noqa: ANN001
    """A registered ModelSource is asked by resolve_model through the registry."""

    class Toy(ModelSource):
        name = "toy-source"
        priority = 1

        def resolve(self, name: str) -> ResolvedModel | None:
            return ResolvedModel(name, tmp_path, self.name) if name == "toy-model" else None

    reg = registry_with(register_model_sources=lambda register: register(Toy))
    assert reg.get_class("model_source", "toy-source")().resolve("toy-model").path == tmp_path


def test_register_engines(tmp_path, tiny_bert_dir) -> None:  # noqa: ANN001
    """A registered Engine gets the collection's embedder by name and config and embeds its passages, in order."""
    from latentstack import get_embedder
    from latentstack.engines import Engine
    from latentstack.search import Collection, Document

    calls: list[tuple[str, int]] = []

    class Toy(Engine):
        name = "toy-engine"

        def embed(self, texts, embedder, options):  # noqa: ANN001, ANN201
            calls.append((embedder, len(texts)))
            return get_embedder(embedder, **options).embed_many(list(texts))  # built from name and config

    engine = registry_with(register_engines=lambda register: register(Toy)).build_as(Engine, "toy-engine")
    col = Collection.create(tmp_path / "c", embedder_options={"model": str(tiny_bert_dir), "show_progress": False})
    col.add_documents([Document("a", "the cat sat on the mat"), Document("b", "stock markets fell")], engine=engine)
    assert calls == [("bert", 2)]
    assert col.search("the cat sat on the mat", k=1, hybrid=False)[0].doc_id == "a"


def test_register_commands() -> None:
    """A plugin's command joins the CLI and runs."""
    from click.testing import CliRunner

    from latentstack.cli.app import LatentstackGroup

    @click.command()
    def hello() -> None:
        click.echo("hi from a plugin")

    group = LatentstackGroup(name="t")
    plugin = types.SimpleNamespace(register_commands=hookimpl(lambda cli: cli.add_command(hello)))
    reg = Registry()
    reg.add_plugin(plugin, "toy")
    for impl in reg.pm.hook.register_commands.get_hookimpls():
        impl.function(cli=group)
    assert CliRunner().invoke(group, ["hello"]).output == "hi from a plugin\n"


def test_register_bench_suites() -> None:
    """A plugin's suite joins ``latentstack bench`` beside the built-in ones."""
    from click.testing import CliRunner

    from latentstack_bench.group import BenchGroup

    @click.command("toy-suite")
    def toy_suite() -> None:
        click.echo("toy suite ran")

    group = BenchGroup(name="bench")
    reg = registry_with(register_bench_suites=lambda register: register(toy_suite))
    reg.call_each("register_bench_suites", register=group._register)
    assert CliRunner().invoke(group, ["toy-suite"]).output == "toy suite ran\n"


def test_hook_may_take_no_arguments() -> None:
    """An implementation may accept a subset (here none) of the spec's arguments."""
    reg = registry_with(register_embedders=lambda: None)
    assert reg.infos["toy"].errors == []


def test_config_is_frozen() -> None:
    """Built components carry frozen configs."""
    reg = registry_with(register_embedders=lambda register: register(ToyEmbedder))
    emb = reg.create("embedder", "toy-emb")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        emb.config.batch_size = 3
