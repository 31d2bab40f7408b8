"""A linear head on frozen embedder features ("feature-based", as the BERT paper put it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from latentstack.atomic import atomic_dir
from latentstack.errors import CorruptFileError, InputError
from latentstack.interfaces import Classifier, ClassifierConfig
from latentstack.interfaces.embedder import check_texts
from latentstack_linear.features import Features
from latentstack_linear.heads import best_threshold, fit_head, head_proba

FORMAT = 1


@attrs.frozen(kw_only=True)
class LinearConfig(ClassifierConfig):
    """Which features and which head; None means "choose by cross-validation on the training split"."""

    embedder: str = "bert"
    embedder_options: dict[str, Any] = attrs.field(factory=dict, converter=dict)
    hybrid: bool = False
    head: str = attrs.field(default="logistic", validator=attrs.validators.in_(("logistic", "nb")))
    c: float | None = None
    alpha: float | None = None
    class_weight: str | None = attrs.field(default=None, validator=attrs.validators.in_((None, "none", "balanced")))
    tune_threshold: bool = False


class LinearClassifier(Classifier):
    """Embeds texts with a frozen embedder (cached by content hash) and fits a linear head.

    ``hybrid=True`` puts the classic TF-IDF features (word 1-2 and char 2-5-grams) beside
    the embedder's in one model. ``tune_threshold`` (two classes) picks the decision
    cut that maximises the minority class's F1 on out-of-fold training predictions.
    """

    name = "linear"
    Config = LinearConfig

    def __init__(self, config: LinearConfig | None = None) -> None:
        super().__init__(config)
        self.classes: list[str] = []
        self.features: Features | None = None
        self.head: dict[str, Any] = {}
        self.threshold: float | None = None

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> LinearClassifier:
        """Fit the features (if corpus-trained) and the head."""
        from latentstack.data.labeled import check_labels

        texts, labels = check_texts(texts), list(labels)
        if len(texts) != len(labels):
            msg = f"got {len(texts)} texts and {len(labels)} labels"
            raise InputError(msg)
        self.classes = check_labels(labels)
        y = np.array([self.classes.index(lab) for lab in labels])
        c = self.config
        self.features = Features.create(c.embedder, c.embedder_options, c.hybrid)
        self.features.fit(texts)
        x = self.features.transform(texts)
        self.head = fit_head(c.head, x, y, seed=c.seed, c=c.c, alpha=c.alpha, class_weight=c.class_weight)
        if c.tune_threshold and len(self.classes) == 2:
            self.threshold = self._oof_threshold(x, y)
        return self

    def _oof_threshold(self, x: Any, y: np.ndarray) -> float:
        """Threshold from out-of-fold probabilities, with the chosen hyperparameters fixed."""
        from sklearn.model_selection import StratifiedKFold

        proba = np.zeros(len(y))
        c, chosen = self.config, self.head["chosen"]
        folds = StratifiedKFold(min(5, int(np.bincount(y).min())), shuffle=True, random_state=c.seed)
        for tr, te in folds.split(np.zeros(len(y)), y):
            part = fit_head(c.head, x[tr], y[tr], seed=c.seed, c=chosen.get("C"), alpha=chosen.get("alpha"),
                            class_weight=chosen.get("class_weight"))
            proba[te] = head_proba(c.head, part["coef"], part["intercept"], x[te])[:, 1]
        return best_threshold(proba, y == 1)

    def _check_fitted(self) -> Features:
        if self.features is None:
            msg = "the classifier is not trained: call fit() or load() first"
            raise InputError(msg)
        return self.features

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, columns in ``classes`` order."""
        x = self._check_fitted().transform(check_texts(texts))
        return head_proba(self.config.head, self.head["coef"], self.head["intercept"], x)

    def predict(self, texts: Sequence[str]) -> list[str]:
        """Labels; with a tuned threshold, the second class wins from that probability up."""
        proba = self.predict_proba(texts)
        if self.threshold is None:
            return [self.classes[i] for i in proba.argmax(axis=1)]
        return [self.classes[int(p >= self.threshold)] for p in proba[:, 1]]

    def trainable_parameters(self) -> int:
        """Weights of the head."""
        return int(self.head["coef"].size + self.head["intercept"].size)

    def save(self, path: str | Path) -> None:
        """manifest.json + head.npz (+ fitted TF-IDF state), atomically; no pickle."""
        features = self._check_fitted()
        with atomic_dir(path) as tmp:
            manifest = {"format": FORMAT, "classifier": self.name, "config": self.config.to_dict(),
                        "classes": self.classes, "features": features.describe(), "threshold": self.threshold,
                        "chosen": self.head["chosen"]}
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
            np.savez(tmp / "head.npz", coef=self.head["coef"], intercept=self.head["intercept"])
            features.save(tmp)

    @classmethod
    def load(cls, path: str | Path) -> LinearClassifier:
        """Read a saved classifier; a missing or different base model is a clear error."""
        path = Path(path)
        try:
            manifest = json.loads((path / "manifest.json").read_text())
            with np.load(path / "head.npz", allow_pickle=False) as arrays:
                head = {"coef": arrays["coef"], "intercept": arrays["intercept"]}
        except (OSError, ValueError, KeyError) as exc:
            msg = f"{path} is not a readable linear classifier ({exc}); train one with `latentstack classify train`"
            raise CorruptFileError(msg) from exc
        if manifest.get("classifier") != cls.name:
            msg = f"{path} holds a {manifest.get('classifier')!r} classifier, not {cls.name!r}"
            raise CorruptFileError(msg)
        clf = cls.from_options(**manifest["config"])
        clf.classes, clf.threshold = manifest["classes"], manifest["threshold"]
        clf.head = {**head, "chosen": manifest["chosen"]}
        clf.features = Features.load(path, manifest["features"])
        return clf
