"""The built-in model sources, registered through the same hook a third party uses."""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack.sources.folder import FolderSource
from latentstack.sources.hub import HubSource
from latentstack.sources.packaged import PackagedSource


@hookimpl
def register_model_sources(register) -> None:  # noqa: ANN001 - the hook's callback
    """A local folder, the packaged wheels, and the hub (when downloads are allowed)."""
    register(FolderSource)
    register(PackagedSource)
    register(HubSource)
