"""The registry: which class answers to which name, for each role.

Built lazily from the plugin hooks the first time it is needed. Each plugin's hook is
called on its own, so one plugin that raises is reported and skipped while the others
register. Two plugins claiming one name make that name unusable, with an error naming
both; every other name still works.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

import attrs
import pluggy

from latentstack.errors import PluginConflictError, UnknownNameError, a_or_an
from latentstack.interfaces import ROLES, Component
from latentstack.plugins import PluginInfo, load_plugins, new_manager, register_object, short_error

#: role -> (hook name, base class name); model sources are checked in sources/.
HOOKS: dict[str, str] = {
    "embedder": "register_embedders",
    "index": "register_indexes",
    "classifier": "register_classifiers",
    "adapter": "register_adapters",
    "generator": "register_generators",
    "model_source": "register_model_sources",
    "engine": "register_engines",
}


C = TypeVar("C", bound=Component)


@attrs.frozen
class Entry:
    """One registered class and the plugin that registered it."""

    cls: type
    plugin: str


def _base_for(role: str) -> type:
    if role == "model_source":
        from latentstack.sources.base import ModelSource

        return ModelSource
    if role == "engine":
        from latentstack.engines import Engine

        return Engine
    return ROLES[role]


@attrs.define
class Registry:
    """Names to classes, per role, plus what went wrong on the way."""

    pm: pluggy.PluginManager = attrs.field(factory=new_manager)
    infos: dict[str, PluginInfo] = attrs.field(factory=dict)
    entries: dict[str, dict[str, Entry]] = attrs.field(factory=lambda: {r: {} for r in HOOKS})
    conflicts: dict[tuple[str, str], list[str]] = attrs.field(factory=dict)
    built: bool = False

    @classmethod
    def discover(cls) -> Registry:
        """A registry over every installed plugin of the entry-point group."""
        reg = cls()
        reg.infos = load_plugins(reg.pm)
        return reg

    def add_plugin(self, plugin: Any, name: str) -> None:
        """Register an in-process plugin object; the name tables are rebuilt on next use."""
        register_object(self.pm, self.infos, plugin, name)
        self.built = False

    def build(self) -> Registry:
        """Call every register hook of every plugin, one plugin at a time."""
        if self.built:
            return self
        self.entries = {r: {} for r in HOOKS}
        self.conflicts = {}
        for info in self.infos.values():
            info.reset()
        for role, hook_name in HOOKS.items():
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                self._call(role, impl)
        self.built = True
        return self

    def _call(self, role: str, impl: pluggy.HookImpl) -> None:
        plugin = impl.plugin_name
        info = self.infos.setdefault(plugin, PluginInfo(name=plugin, module=repr(impl.plugin)))

        def register(cls: type, *, aliases: tuple[str, ...] = ()) -> None:
            self._register(role, plugin, cls, aliases)

        try:
            impl.function(**({"register": register} if impl.argnames else {}))
        except Exception as exc:
            info.add_problem(f"{HOOKS[role]} failed: {short_error(exc)}")

    def _register(self, role: str, plugin: str, cls: type, aliases: tuple[str, ...]) -> None:
        base: type[Any] = _base_for(role)
        hook = HOOKS[role]
        if not (isinstance(cls, type) and issubclass(cls, base)):
            msg = f"plugin {plugin!r} ({hook}) registered {cls!r} as {a_or_an(role)}, but it is not a subclass of {base.__name__}"
            raise TypeError(msg)
        if inspect.isabstract(cls):
            missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
            msg = f"plugin {plugin!r} ({hook}) registered {cls.__name__}, which leaves abstract: {missing}"
            raise TypeError(msg)
        main = getattr(cls, "name", "")
        if not isinstance(main, str) or not main:
            msg = f"plugin {plugin!r} ({hook}) registered {cls.__name__} without a `name` class attribute"
            raise TypeError(msg)
        for name in (main, *aliases):
            table = self.entries[role]
            if name in table and table[name].plugin != plugin:
                owners = self.conflicts.setdefault((role, name), [table[name].plugin])
                owners.append(plugin)
                for owner in owners:
                    self.infos[owner].add_problem(self._conflict_message(role, name))
                continue
            table[name] = Entry(cls, plugin)
            self.infos[plugin].registered.setdefault(role, []).append(name)

    def _conflict_message(self, role: str, name: str) -> str:
        owners = self.conflicts[(role, name)]
        return (
            f"{role} {name!r} is registered by more than one plugin: "
            f"{' and '.join(map(repr, owners))}; "
            f"block one with LATENTSTACK_DISABLE={owners[-1]}"
        )

    def call_each(self, hook_name: str, **kwargs: Any) -> None:
        """Call every plugin's ``hook_name`` on its own; one that raises is recorded against it, not fatal."""
        from latentstack.plugins import short_error

        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            try:
                impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
            except Exception as exc:  # a broken plugin must never take down the rest
                info = self.infos.setdefault(impl.plugin_name, PluginInfo(name=impl.plugin_name, module=""))
                info.add_problem(f"{hook_name} failed: {short_error(exc)}")

    def get_class(self, role: str, name: str) -> type[Any]:
        """The class registered under ``name`` for ``role``, or a clear error."""
        self.build()
        if (role, name) in self.conflicts:
            raise PluginConflictError(self._conflict_message(role, name))
        table = self.entries[role]
        if name not in table:
            available = ", ".join(sorted(table)) or "none"
            msg = f"unknown {role} {name!r}; available: {available}. `latentstack plugins` lists them all"
            raise UnknownNameError(msg + self.hidden_note())
        return table[name].cls

    def hidden_note(self) -> str:
        """`` (plugins not loaded: a [missing], b [disabled])`` when some are not, else ``""``: a hint for errors."""
        hidden = [f"{i.name} [{i.status}]" for i in self.infos.values() if i.status != "ok"]
        return f" (plugins not loaded: {', '.join(hidden)}; `latentstack plugins` says why)" if hidden else ""

    def names(self, role: str) -> list[str]:
        """Usable names for ``role``, sorted."""
        self.build()
        return sorted(n for n in self.entries[role] if (role, n) not in self.conflicts)

    def create(self, role: str, name: str, **options: Any) -> Component:
        """Build the component ``name`` of ``role`` from keyword options."""
        return self.build_as(ROLES[role], name, **options)

    def build_as(self, base: type[C], name: str, **options: Any) -> C:
        """Build the ``base.role`` registered as ``name``, typed as ``base``."""
        cls = self.get_class(base.role, name)
        if not issubclass(cls, base):  # registration checks this; a hand-edited table might not
            msg = f"{base.role} {name!r} is {cls.__name__}, not a {base.__name__}"
            raise TypeError(msg)
        return cls.from_options(**options)


_REGISTRY: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry over installed plugins, built on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry.discover()
    return _REGISTRY.build()


def reset_registry() -> None:
    """Forget the process-wide registry (after installing plugins, or in tests)."""
    global _REGISTRY
    _REGISTRY = None


def told_or_default(role: str, name: str, options: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """``options`` for the ``role`` component registered as ``name``, with each of ``defaults`` its config takes and
    ``options`` leave out."""
    fields = {f.name for f in attrs.fields(get_registry().get_class(role, name).Config)}
    return {**{k: v for k, v in defaults.items() if k in fields}, **options}
