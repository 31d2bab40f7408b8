"""Resolve model names to local folders through the registered model sources."""

from __future__ import annotations

import os
from pathlib import Path

from latentstack.errors import ModelNotInstalledError, UnknownNameError
from latentstack.sources.base import ModelInfo, ModelSource, ResolvedModel, fingerprint_folder, latentstack_home


def _sources() -> list[ModelSource]:
    from latentstack.registry import get_registry

    reg = get_registry()
    classes = [reg.get_class("model_source", n) for n in reg.names("model_source")]
    return [cls() for cls in sorted(classes, key=lambda c: c.priority)]


def _in_order(name: str) -> list[ModelSource]:
    """The sources by priority; for a bare name (no folder part), the folder source last.

    A folder in the working directory named like a registered model (``minilm``) must not
    take the name over; ``./minilm`` names the folder.
    """
    sources = _sources()
    if os.sep in name or "/" in name or name.startswith((".", "~")):
        return sources
    return sorted(sources, key=lambda s: s.name == "folder")


def resolve_model(name: str) -> ResolvedModel:
    """The local folder for a model name, a folder path or (downloads allowed) a hub id."""
    if not name:
        msg = "no model name given; `latentstack models` lists the known models"
        raise UnknownNameError(msg)
    for source in _in_order(name):
        try:
            found = source.resolve(name)
        except ModelNotInstalledError as exc:
            if source.name != "folder" and Path(name).is_dir():
                msg = f"{exc}; for the folder {name!r} in the working directory, give ./{name}"
                raise ModelNotInstalledError(msg) from None
            raise
        if found is not None:
            return found
    known = ", ".join(m.name for m in list_models()) or "none"
    msg = f"unknown model {name!r}; known models: {known}; or pass a local model folder"
    raise UnknownNameError(msg)


def list_models() -> list[ModelInfo]:
    """Every model some source can list, with whether it is installed."""
    return [info for source in _sources() for info in source.known()]


__all__ = [
    "ModelInfo",
    "ModelSource",
    "ResolvedModel",
    "fingerprint_folder",
    "latentstack_home",
    "list_models",
    "resolve_model",
]
