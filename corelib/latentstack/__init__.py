"""latentstack: pretrained language models beyond chat, as plugins.

Typed getters build role implementations by name::

    import latentstack
    emb = latentstack.get_embedder("bert", model="minilm", pooling="mean")
    vectors = emb.embed_many(["a sentence", "another"])

Nothing heavy (torch, faiss, onnxruntime, peft) is imported here.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any, TypeVar

from latentstack.errors import LatentstackError
from latentstack.hookspecs import hookimpl
from latentstack.interfaces import Adapter, Classifier, Embedder, Generator, Index
from latentstack.interfaces.base import Component
from latentstack.registry import get_registry, reset_registry
from latentstack.sources import list_models, resolve_model

try:
    __version__ = importlib.metadata.version("latentstack")
except importlib.metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+source"

C = TypeVar("C", bound=Component)


def get_embedder(name: str, **options: Any) -> Embedder:
    """Build the Embedder registered as ``name`` with its config options."""
    return get_registry().build_as(Embedder, name, **options)


def get_index(name: str, **options: Any) -> Index:
    """Build the Index registered as ``name`` with its config options."""
    return get_registry().build_as(Index, name, **options)


def get_classifier(name: str, **options: Any) -> Classifier:
    """Build the Classifier registered as ``name`` with its config options."""
    return get_registry().build_as(Classifier, name, **options)


def get_adapter(name: str, **options: Any) -> Adapter:
    """Build the Adapter registered as ``name`` with its config options."""
    return get_registry().build_as(Adapter, name, **options)


def get_generator(name: str, **options: Any) -> Generator:
    """Build the Generator registered as ``name`` with its config options."""
    return get_registry().build_as(Generator, name, **options)


def load_classifier(path: str | Path, *, embedder: Embedder | None = None) -> Classifier:
    """Load a saved classifier with the plugin that wrote it (its manifest names it).

    ``embedder`` computes the features in place of the saved one (see ``Classifier.load``).
    """
    return _saved_class(path, Classifier).load(path, embedder=embedder)


def load_embedder(path: str | Path) -> Embedder:
    """Load a saved embedder (a fitted TF-IDF, LSA or autoencoder) with the plugin that wrote it."""
    return _saved_class(path, Embedder).load(path)


def _saved_class(path: str | Path, base: type[C]) -> type[C]:
    """The class of the plugin that saved the ``base.role`` folder at ``path`` (its manifest names it)."""
    from latentstack.storage import read_manifest

    plugin = read_manifest(path, kind=base.role, version=None, verify=False).plugin
    cls = get_registry().get_class(base.role, plugin)
    if not issubclass(cls, base):
        msg = f"{base.role} {plugin!r} is {cls.__name__}, not a {base.__name__}"
        raise TypeError(msg)
    return cls


def ask(index_dir: str | Path, question: str, *, k: int = 4, hybrid: bool = True, where: dict[str, Any] | None = None,
        min_score: float | None = None, max_new_tokens: int | None = None, generator: str = "llm",
        **generator_options: Any) -> Any:
    """Answer ``question`` from the index folder ``index_dir``, citing its passages (a RagAnswer).

    ``where`` keeps the passages whose metadata matches it (``{"lang": "en"}``); ``min_score``
    and ``max_new_tokens`` change RagConfig's defaults (the abstention threshold, the answer's
    length); ``generator`` is any registered Generator; ``generator_options`` go to its config.
    """
    from latentstack.rag import RagConfig, RagPipeline
    from latentstack.search import Collection

    given: dict[str, Any] = {key: value for key, value in {"min_score": min_score, "max_new_tokens": max_new_tokens}.items()
                             if value is not None}
    config = RagConfig(k=k, hybrid=hybrid, **given)
    col = Collection.load(index_dir, lexical=config.hybrid is not False)  # dense-only: the lexical index not read
    pipeline = RagPipeline(col, get_generator(generator, **generator_options), config)
    return pipeline.ask(question, where)


def register_plugin(plugin: Any, name: str) -> None:
    """Register an in-process plugin (a module or object with hookimpls) under ``name``."""
    get_registry().add_plugin(plugin, name)


__all__ = [
    "Adapter",
    "Classifier",
    "Embedder",
    "Generator",
    "Index",
    "LatentstackError",
    "__version__",
    "ask",
    "get_adapter",
    "get_classifier",
    "get_embedder",
    "get_generator",
    "get_index",
    "get_registry",
    "hookimpl",
    "list_models",
    "load_classifier",
    "load_embedder",
    "register_plugin",
    "reset_registry",
    "resolve_model",
]
