"""Adapter: attach few trainable parameters to a model; save, load, merge."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import attrs

from latentstack.interfaces.base import Component, Config


@attrs.frozen(kw_only=True)
class AdapterConfig(Config):
    """Options every adapter understands."""

    targets: tuple[str, ...] = attrs.field(default=("query", "value"), converter=tuple)


class Adapter(Component):
    """Wraps a model so that only a few parameters train."""

    role: ClassVar[str] = "adapter"
    Config: ClassVar[type[AdapterConfig]] = AdapterConfig

    @abstractmethod
    def attach(self, model: Any) -> Any:
        """Return the model with fresh trainable adapter weights attached."""

    @abstractmethod
    def save(self, model: Any, path: str | Path) -> None:
        """Save only the adapter weights and config."""

    @abstractmethod
    def load(self, model: Any, path: str | Path) -> Any:
        """Attach saved adapter weights to a base model."""

    @abstractmethod
    def merge(self, model: Any) -> Any:
        """Fold the adapter into the base weights and return the plain model."""

    def count_parameters(self, model: Any) -> tuple[int, int]:
        """(trainable, total) parameter counts of a torch module."""
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
        return trainable, total
