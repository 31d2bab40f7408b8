"""Classifier: fit(texts, labels) / predict / predict_proba."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs

from latentstack.interfaces.base import Component, Config


@attrs.frozen(kw_only=True)
class ClassifierConfig(Config):
    """Options every classifier understands."""

    seed: int = 0


class Classifier(Component):
    """Learns labels from texts. ``classes`` holds the label names in column order."""

    role: ClassVar[str] = "classifier"
    Config: ClassVar[type[ClassifierConfig]] = ClassifierConfig
    classes: list[str]

    @abstractmethod
    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Classifier:
        """Train on texts and their labels; returns self."""

    @abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> Any:
        """Class probabilities, float array of shape (n, len(classes))."""

    @abstractmethod
    def save(self, path: str | Path) -> None:
        """Write the trained classifier into folder ``path`` (manifest + weights, no pickle)."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | Path) -> Classifier:
        """Read a classifier written by ``save``."""

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable label of each text."""
        proba = self.predict_proba(texts)
        return [self.classes[i] for i in proba.argmax(axis=1)]
