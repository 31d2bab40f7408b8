"""The hooks a latentstack plugin can implement.

A plugin is a module (or object) listed in the ``latentstack`` entry-point group. It
marks functions with ``latentstack.hookimpl``; it may accept a subset of a hook's
arguments, and hooks are always called with keyword arguments, so a spec can gain an
argument without breaking old plugins. Register hooks hand the plugin a ``register``
callback and expect *classes* (factories), never instances. Each register hook is
called once per plugin when the registry is first built (lazily, on the first
``get_*``/``list_*`` call or CLI command that needs it). A plugin whose hook raises is
reported by ``latentstack plugins`` and skipped; the other plugins carry on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pluggy

hookspec = pluggy.HookspecMarker("latentstack")
hookimpl = pluggy.HookimplMarker("latentstack")

class Register(Protocol):
    """The callback a register hook receives: ``register(cls, aliases=("a", "b"))``.

    ``cls`` must be a concrete subclass of the hook's role with a ``name``; anything else
    is reported against the plugin and skipped.
    """

    def __call__(self, cls: type, *, aliases: tuple[str, ...] = ()) -> None:
        """Register ``cls`` under ``cls.name`` (and ``aliases``)."""


@hookspec
def register_embedders(register: Register) -> None:
    """Register Embedder classes.

    Called once when the registry is built. Call ``register(cls)`` for each subclass of
    ``latentstack.interfaces.Embedder``; ``cls.name`` is the name users pass to
    ``get_embedder(name)`` and ``--embedder``. Optional ``aliases=("a", "b")`` adds names.
    Returns nothing.
    """


@hookspec
def register_indexes(register: Register) -> None:
    """Register Index classes.

    Called once when the registry is built. Call ``register(cls)`` for each subclass of
    ``latentstack.interfaces.Index``; ``cls.name`` is what ``get_index(name)`` and
    ``--index`` take. Returns nothing.
    """


@hookspec
def register_classifiers(register: Register) -> None:
    """Register Classifier classes.

    Called once when the registry is built. Call ``register(cls)`` for each subclass of
    ``latentstack.interfaces.Classifier`` (``get_classifier(name)``, ``--head``/``--method``).
    Returns nothing.
    """


@hookspec
def register_adapters(register: Register) -> None:
    """Register Adapter classes.

    Called once when the registry is built. Call ``register(cls)`` for each subclass of
    ``latentstack.interfaces.Adapter`` (``get_adapter(name)``). Returns nothing.
    """


@hookspec
def register_generators(register: Register) -> None:
    """Register Generator classes.

    Called once when the registry is built. Call ``register(cls)`` for each subclass of
    ``latentstack.interfaces.Generator`` (``get_generator(name)``). Returns nothing.
    """


@hookspec
def register_model_sources(register: Register) -> None:
    """Register ModelSource classes, which turn a model name into a local folder.

    Called once when the registry is built. Call ``register(cls)`` for each subclass of
    ``latentstack.sources.ModelSource``. ``resolve_model(name)`` asks the sources in
    ``priority`` order (lower first) and the first that knows the name answers.
    Returns nothing.
    """


@hookspec
def register_engines(register: Register) -> None:
    """Register Engine classes (``latentstack.engines.Engine``), which embed a collection's passages elsewhere.

    Called once when the registry is built; ``index build --engine NAME`` chooses one.
    Returns nothing.
    """


@hookspec
def register_bench_suites(register: Callable[[Any], None]) -> None:
    """Add benchmark suites to ``latentstack bench``.

    Called the first time the ``bench`` group lists or looks up a suite. Call
    ``register(command)`` with a ``click.Command`` whose name is the suite's; build it
    with ``latentstack.bench.bench_options`` and ``latentstack.bench.suite`` so that it
    takes --data, --methods, --limit, --seed, --json and --out like every suite. A name
    registered twice keeps the first and reports the second. Returns nothing.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands or groups to the ``latentstack`` CLI.

    Called once when the CLI starts, with the top-level ``click.Group`` as ``cli``;
    call ``cli.add_command(...)``. Benchmark suites use ``register_bench_suites`` instead.
    Returns nothing.
    """
