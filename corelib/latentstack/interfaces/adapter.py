"""Adapter: attach few trainable parameters to a model; save, load, merge."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import attrs

from latentstack.interfaces.base import Component, Config, names


@attrs.frozen(kw_only=True)
class AdapterConfig(Config):
    """Options every adapter understands.

    ``targets`` names the layers to adapt (the last parts of their module names, e.g. ``q_proj,v_proj``);
    empty, the adapter chooses the usual ones for the model's type when it attaches.
    """

    targets: tuple[str, ...] = attrs.field(default=(), converter=names)


class Adapter(Component):
    """Wraps a model so that only a few parameters train."""

    role: ClassVar[str] = "adapter"
    Config: ClassVar[type[AdapterConfig]] = AdapterConfig

    @abstractmethod
    def attach(self, model: Any) -> Any:
        """Return the model with fresh trainable adapter weights attached."""

    @abstractmethod
    def save(self, model: Any, path: str | Path, base_fingerprint: str = "", dtype: str = "float32") -> None:
        """Save only the adapter weights and options (a component folder), atomically.

        ``base_fingerprint`` identifies the base model, so that loading onto another one is
        an error; ``dtype`` is the storage type of the weights.
        """

    @abstractmethod
    def load(self, model: Any, path: str | Path, base_fingerprint: str = "", *, name: str = "default",
             trainable: bool = False) -> Any:
        """Attach saved adapter weights to a base model under ``name``; returns the wrapped model.

        A ``base_fingerprint`` other than the saved one is a ModelMismatchError; a damaged
        folder is a CorruptFileError. ``trainable`` leaves the weights trainable.
        """

    @abstractmethod
    def check_base(self, path: str | Path, base_fingerprint: str = "") -> Path:
        """The adapter folder at ``path``, checked to be whole and made for this base model."""

    @abstractmethod
    def saved_options(self, path: str | Path) -> dict[str, Any]:
        """The options (this adapter's Config) the adapter at ``path`` was made with."""

    @abstractmethod
    def merge(self, model: Any) -> Any:
        """Fold the adapter into the base weights and return the plain model."""

    @abstractmethod
    def unload(self, model: Any) -> Any:
        """Drop the adapter, returning the untouched base model."""

    def count_parameters(self, model: Any) -> tuple[int, int]:
        """(trainable, total) parameter counts of a torch module."""
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
        return trainable, total
