"""The contract a whole plugin meets: found through its entry point, every class concrete, named, strict."""

from __future__ import annotations

import importlib.metadata
import inspect
from typing import Any

import pytest

from latentstack.errors import ConfigError
from latentstack.interfaces import Component
from latentstack.plugins import GROUP
from latentstack.registry import HOOKS, Registry


class PluginContract:
    """Subclass and set ``plugin`` to the plugin's entry-point name (it must be installed)."""

    plugin = ""

    @pytest.fixture(scope="class")
    @classmethod
    def registry(cls) -> Registry:
        """A registry over every installed plugin (once per class: a class method, as pytest wants of class-scoped
        fixtures)."""
        return Registry.discover().build()

    def test_declared_in_the_entry_point_group(self) -> None:
        """The plugin is an entry point of the ``latentstack`` group."""
        names = {ep.name for ep in importlib.metadata.entry_points(group=GROUP)}
        assert self.plugin in names, f"no entry point {self.plugin!r} in group {GROUP!r}"

    def test_loads_and_registers_without_problems(self, registry: Registry) -> None:
        """It imports, and every hook it implements registers without an error."""
        info = registry.infos[self.plugin]
        assert info.status == "ok" and not info.errors, info.errors

    def test_every_class_is_concrete_and_named(self, registry: Registry) -> None:
        """Each registered class can be instantiated (no abstract member left) and has a name."""
        for role, cls in self._classes(registry):
            assert not inspect.isabstract(cls), f"{role} {cls.__name__} is abstract"
            assert cls.name, f"{role} {cls.__name__} has no name"

    def test_an_unknown_option_is_a_config_error(self, registry: Registry) -> None:
        """Every component refuses an option its Config does not have, naming the options it has."""
        for _role, cls in self._classes(registry):
            if not issubclass(cls, Component):
                continue
            with pytest.raises(ConfigError, match="no option"):
                cls.from_options(no_such_option_0123=1)

    def _classes(self, registry: Registry) -> list[tuple[str, type[Any]]]:
        registered = registry.infos[self.plugin].registered
        return [(role, registry.entries[role][name].cls) for role in HOOKS for name in registered.get(role, [])]
