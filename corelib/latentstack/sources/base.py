"""Model sources: turn a model name into a local folder of files."""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import attrs

from latentstack.errors import ConfigError


def latentstack_home() -> Path:
    """Where converted models and caches live: ``$LATENTSTACK_HOME`` or ~/.cache/latentstack, made if missing.

    A path that is a file, or a folder that cannot be made, is a one-line ConfigError naming the variable.
    """
    home = Path(os.environ.get("LATENTSTACK_HOME") or Path.home() / ".cache" / "latentstack")
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "it is a file, not a folder" if home.is_file() else f"it cannot be made: {exc.strerror or exc}"
        msg = (f"latentstack's home {home} (LATENTSTACK_HOME, or ~/.cache/latentstack) is unusable ({why}): "
               "set LATENTSTACK_HOME to a folder this user can write")
        raise ConfigError(msg) from exc
    return home


@attrs.frozen
class ResolvedModel:
    """A model name made concrete: a local folder and where it came from."""

    name: str
    path: Path
    source: str

    def fingerprint(self) -> str:
        """Hash of the folder's files (names, sizes, first and last MiB): changes with the weights."""
        return fingerprint_folder(self.path)


@attrs.frozen
class ModelInfo:
    """One line of ``latentstack models``."""

    name: str
    description: str
    source: str
    installed: bool
    install: str = ""


def fingerprint_folder(path: Path, chunk: int = 1 << 20) -> str:
    """A short stable hash of a model folder, cheap even for large weight files."""
    digest = hashlib.sha256()
    for file in sorted(p for p in Path(path).rglob("*") if p.is_file() and not p.name.startswith(".")):
        size = file.stat().st_size
        digest.update(f"{file.relative_to(path)}:{size}".encode())
        with open(file, "rb") as fh:
            digest.update(fh.read(chunk))
            if size > 2 * chunk:
                fh.seek(-chunk, os.SEEK_END)
                digest.update(fh.read(chunk))
    return digest.hexdigest()[:16]


class ModelSource(ABC):
    """Knows some model names and where their files are.

    ``resolve`` returns None for a name it does not know, so the next source is asked;
    it raises ModelNotInstalledError for a name it knows but cannot provide.
    """

    name: ClassVar[str] = ""
    priority: ClassVar[int] = 50

    @abstractmethod
    def resolve(self, name: str) -> ResolvedModel | None:
        """The local folder for ``name``, or None if this source does not know it."""

    def known(self) -> list[ModelInfo]:
        """The models this source can list (a folder or hub source lists none)."""
        return []
