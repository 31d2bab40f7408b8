"""A Hugging Face hub id, only when downloads are allowed (LATENTSTACK_ALLOW_DOWNLOAD=1)."""

from __future__ import annotations

import os
from pathlib import Path

from latentstack.errors import ModelNotInstalledError
from latentstack.sources.base import ModelSource, ResolvedModel


def downloads_allowed() -> bool:
    """True when the user has opted in to hub downloads."""
    return os.environ.get("LATENTSTACK_ALLOW_DOWNLOAD", "") == "1"


class HubSource(ModelSource):
    """``owner/name`` ids from the hub. Off unless LATENTSTACK_ALLOW_DOWNLOAD=1."""

    name = "hub"
    priority = 90

    def resolve(self, name: str) -> ResolvedModel | None:
        """Download (or reuse the hub cache of) ``owner/name``."""
        if name.count("/") != 1 or name.startswith((".", "/")):
            return None
        if not downloads_allowed():
            msg = (
                f"model {name!r} looks like a hub id, but downloads are off; "
                "set LATENTSTACK_ALLOW_DOWNLOAD=1 where a network exists, or pass a local folder"
            )
            raise ModelNotInstalledError(msg)
        from huggingface_hub import snapshot_download

        return ResolvedModel(name, Path(snapshot_download(name)), self.name)
