"""Finding, loading and isolating plugins.

Plugins come from the ``latentstack`` entry-point group (built-in ones too). A plugin
that fails to import is recorded with its error and skipped; ``LATENTSTACK_DISABLE``
(comma-separated names) blocks plugins by entry-point name, built-ins included.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
import traceback
from typing import Any

import attrs
import pluggy

from latentstack import hookspecs

GROUP = "latentstack"


@attrs.define
class PluginInfo:
    """What ``latentstack plugins`` shows about one plugin."""

    name: str
    module: str
    dist: str = ""
    version: str = ""
    status: str = "ok"  # ok | failed | missing (its libraries are not installed) | disabled
    error: str = ""
    registered: dict[str, list[str]] = attrs.field(factory=dict)
    problems: list[str] = attrs.field(factory=list)

    def add_problem(self, text: str) -> None:
        """Record an error met while registering (a hook that raised, a name conflict)."""
        if text not in self.problems:
            self.problems.append(text)

    def reset(self) -> None:
        """Forget what registering found, before the registry is built again."""
        self.registered = {}
        self.problems = []

    @property
    def errors(self) -> list[str]:
        """Every error of this plugin: import failure first, then registration problems."""
        return ([self.error] if self.error else []) + self.problems


def disabled_names() -> set[str]:
    """Plugin names blocked through ``LATENTSTACK_DISABLE``."""
    return {n.strip() for n in os.environ.get("LATENTSTACK_DISABLE", "").split(",") if n.strip()}


def short_error(exc: BaseException) -> str:
    """``Type: message`` plus the innermost frame, enough to find the fault."""
    frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({frame[0].filename}:{frame[0].lineno})" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"


def missing_requirements(module: Any) -> str:
    """Why a plugin module cannot work here: the packages its ``latentstack_requires`` names that are absent.

    ``latentstack_requires`` maps import names to what pip installs them with, e.g.
    ``{"faiss": "latentstack[faiss]"}``. Nothing is imported: only looked up.
    """
    needs: dict[str, str] = getattr(module, "latentstack_requires", {}) or {}
    missing = [name for name in needs if not _importable(name)]
    if not missing:
        return ""
    pips = " ".join(sorted({repr(needs[m]) for m in missing}))
    return f"needs {', '.join(missing)}, not installed: pip install {pips}"


def _importable(name: str) -> bool:
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    seen: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=GROUP):
        seen.setdefault(ep.name, ep)  # one dist twice on sys.path: keep the first
    return sorted(seen.values(), key=lambda ep: ep.name)


def new_manager() -> pluggy.PluginManager:
    """A plugin manager that knows latentstack's hook specifications."""
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    return pm


def load_plugins(pm: pluggy.PluginManager) -> dict[str, PluginInfo]:
    """Import every entry point of the group into ``pm``, isolating failures."""
    infos: dict[str, PluginInfo] = {}
    blocked = disabled_names()
    for ep in _entry_points():
        dist = ep.dist
        info = PluginInfo(
            name=ep.name,
            module=ep.value,
            dist=dist.metadata["Name"] if dist else "",
            version=dist.version if dist else "",
        )
        infos[ep.name] = info
        if ep.name in blocked:
            info.status = "disabled"
            continue
        try:
            module = ep.load()
            missing = missing_requirements(module)
            if missing:
                info.status, info.error = "missing", missing
                continue
            pm.register(module, name=ep.name)
        except Exception as exc:  # a broken plugin must never take down the rest
            info.status = "failed"
            info.error = short_error(exc)
    return infos


def register_object(
    pm: pluggy.PluginManager, infos: dict[str, PluginInfo], plugin: Any, name: str
) -> None:
    """Register an in-process plugin object (tests, notebooks) as if it had an entry point."""
    if name in disabled_names():
        infos[name] = PluginInfo(name=name, module=repr(plugin), status="disabled")
        return
    pm.register(plugin, name=name)
    infos[name] = PluginInfo(name=name, module=getattr(plugin, "__name__", repr(plugin)))
