"""Classifier: fit(texts, labels) / predict / predict_proba."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs

from latentstack.errors import ConfigError
from latentstack.interfaces.base import Component, Config
from latentstack.interfaces.embedder import Embedder


@attrs.frozen(kw_only=True)
class ClassifierConfig(Config):
    """Options every classifier understands."""

    seed: int = 0


class Classifier(Component):
    """Learns labels from texts. ``classes`` holds the label names in column order.

    A classifier that learns several labels per text (multi-label) sets ``multi_label`` once
    trained on lists of labels: its probabilities are then each label's own (rows need not sum
    to 1) and ``predict`` gives each text a list of labels. One that learns one label per text
    refuses lists of labels with an InputError (``normalize_labels`` does).
    """

    role: ClassVar[str] = "classifier"
    Config: ClassVar[type[ClassifierConfig]] = ClassifierConfig
    #: ``fit`` can keep checkpoints to go on from (``keep_checkpoints``): a classifier that trains for long.
    checkpointed: ClassVar[bool] = False
    classes: list[str]
    multi_label: bool = False

    @abstractmethod
    def fit(self, texts: Sequence[str], labels: Sequence[Any]) -> Classifier:
        """Train on texts and their labels (one per text, or a list per text where multi-label); returns self."""

    @abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> Any:
        """Class probabilities, float array of shape (n, len(classes)): rows sum to 1, or each label's own
        probability where ``multi_label``."""

    @abstractmethod
    def save(self, path: str | Path) -> None:
        """Write the trained classifier into folder ``path`` (manifest + weights, no pickle)."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | Path, *, embedder: Embedder | None = None) -> Classifier:
        """Read a classifier written by ``save``; a damaged folder is a one-line CorruptFileError.

        ``embedder``, when given, computes the features in place of the saved embedder: it
        must reproduce them (its ``source_fingerprint`` equals the saved fingerprint), as
        an ONNX export of the same encoder does. Classifiers that embed nothing themselves
        refuse it with a ConfigError.
        """

    def keep_checkpoints(self, out: str | Path, resume: str | Path | None = None, save_every: int = 0) -> None:
        """Have ``fit`` keep its checkpoints in ``OUT-checkpoints/`` (``latentstack.train_state.checkpoints_of``):
        at each epoch's end, on a stop, and the newest of every ``save_every`` optimiser steps (0: none of those);
        and go on exactly from ``resume``, one of them, given the same texts, labels and options.

        Only a ``checkpointed`` classifier keeps any; the others train in one go and refuse this.
        """
        msg = f"the {self.name} classifier trains in one go and keeps no checkpoints to go on from"
        raise ConfigError(msg)

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many of ``texts`` are longer than the trained classifier reads, so that their ends do not reach its
        features (0, the default, for classifiers that read texts of any length)."""
        return 0

    def trainable_parameters(self) -> int:
        """How many parameters training set (0 when the classifier cannot say; the default)."""
        return 0

    def training_report(self) -> dict[str, Any]:
        """What training chose and measured, for reports and benchmarks (empty by default).

        E.g. hyperparameters picked by cross-validation, a loss history, the base model's size.
        """
        return {}

    def predict(self, texts: Sequence[str]) -> list[Any]:
        """Each text's label (a list of labels where ``multi_label``): ``labels_of`` its class probabilities."""
        return self.labels_of(self.predict_proba(texts))

    def labels_of(self, proba: Any) -> list[Any]:
        """The labels of rows of class probabilities (``predict_proba``'s): the most probable class by default,
        or where ``multi_label`` every class of probability 0.5 or more. A classifier with another rule (a tuned
        threshold) overrides this, so that every caller that already holds the probabilities (a server,
        ``classify predict --json``) labels as ``predict`` does."""
        if self.multi_label:
            return [[c for c, p in zip(self.classes, row, strict=True) if p >= 0.5] for row in proba]
        return [self.classes[int(i)] for i in proba.argmax(axis=1)]
