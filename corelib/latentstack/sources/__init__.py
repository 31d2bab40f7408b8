"""Resolve model names to local folders through the registered model sources."""

from __future__ import annotations

from latentstack.errors import UnknownNameError
from latentstack.sources.base import ModelInfo, ModelSource, ResolvedModel, fingerprint_folder, latentstack_home


def _sources() -> list[ModelSource]:
    from latentstack.registry import get_registry

    reg = get_registry()
    classes = [reg.get_class("model_source", n) for n in reg.names("model_source")]
    return [cls() for cls in sorted(classes, key=lambda c: c.priority)]


def resolve_model(name: str) -> ResolvedModel:
    """The local folder for a model name, a folder path or (downloads allowed) a hub id."""
    if not name:
        msg = "no model name given; `latentstack models` lists the known models"
        raise UnknownNameError(msg)
    for source in _sources():
        found = source.resolve(name)
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
