"""Registries built from given plugins, for plugin authors' tests (no entry points needed)."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from latentstack.hookspecs import hookimpl
from latentstack.registry import Registry


def registry_of(**plugins: Any) -> Registry:
    """A registry holding only the given plugin objects or modules, keyed by plugin name.

    ``registry_of(mine=my_plugin_module)`` registers its hook implementations exactly as
    the entry point would; nothing installed is looked at.
    """
    reg = Registry()
    for name, plugin in plugins.items():
        reg.add_plugin(plugin, name)
    return reg.build()


def registry_with(plugin: str = "toy", **hooks: Callable[..., Any]) -> Registry:
    """A registry holding one plugin made of the given hook functions (``register_embedders=...``)."""
    return registry_of(**{plugin: types.SimpleNamespace(**{k: hookimpl(v) for k, v in hooks.items()})})
