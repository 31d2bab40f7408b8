"""A linear head on frozen embedder features ("feature-based", as the BERT paper put it)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from latentstack.errors import InputError
from latentstack.interfaces import Classifier, ClassifierConfig, Embedder
from latentstack.interfaces.embedder import check_texts
from latentstack.storage import component_dir, read_manifest, reading, write_manifest
from latentstack_linear.features import Features
from latentstack_linear.fusion import best_fusion, fit_meta, log_proba, macro_f1_of, side_by_side
from latentstack_linear.heads import best_threshold, fit_head, out_of_fold
from latentstack_linear.model import head_proba, logistic_head
from latentstack_linear.multilabel import fit_label_heads, label_matrix, label_proba, label_sets_of
from latentstack_linear.search import search_logistic

FORMAT = 1
FUSIONS = ("auto", "stack", "concat")


@attrs.frozen(kw_only=True)
class LinearConfig(ClassifierConfig):
    """Which features and which head; None means "choose by cross-validation on the training split"."""

    embedder: str = "bert"
    embedder_options: dict[str, Any] = attrs.field(factory=dict, converter=dict)
    #: Shortcuts for the embedder's ``model`` and ``pooling`` options (the CLI's --model, --pooling).
    model: str | None = None
    pooling: str | None = None
    hybrid: bool = False
    head: str = attrs.field(default="logistic", converter=lambda h: "logistic" if h == "linear" else h,
                            validator=attrs.validators.in_(("logistic", "nb")))
    c: float | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.gt(0)))
    alpha: float | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.gt(0)))
    class_weight: str | None = attrs.field(default=None, validator=attrs.validators.in_((None, "none", "balanced")))
    tune_threshold: bool = False
    #: How a hybrid joins its blocks: "auto" keeps what cross-validates best (the stack, the blocks side by
    #: side, or one block alone); "stack" or "concat" fixes it.
    fusion: str = attrs.field(default="auto", validator=attrs.validators.in_(FUSIONS))

    def __attrs_post_init__(self) -> None:
        if self.fusion != "auto" and not self.hybrid:
            msg = f"fusion={self.fusion!r} joins a hybrid's two feature blocks; add hybrid=true (--hybrid) or drop it"
            raise InputError(msg)
        if self.fusion == "concat" and self.head != "logistic":
            msg = "fusion='concat' needs the logistic head (naive Bayes cannot read the dense block); use head=logistic"
            raise InputError(msg)


class LinearClassifier(Classifier):
    """Embeds texts with a frozen embedder (cached by content hash) and fits a linear head.

    ``hybrid=True`` adds the classic TF-IDF features (word 1-2 and char 2-5-grams) and
    fuses the two blocks both ways: one head per block, stacked under a logistic
    regression over their out-of-fold log-probabilities, and the blocks side by side
    under one head. The fusion (or single block) that cross-validates best on the
    training split is kept, unless ``fusion`` names one. ``tune_threshold`` (two classes)
    picks the cut that maximises the minority class's F1 out of fold.

    Trained on a list of labels per text, it learns each label with a yes/no head of its own
    (``multilabel``); a hybrid's blocks are then joined side by side under each label's head.
    """

    name = "linear"
    Config = LinearConfig
    config: LinearConfig

    def __init__(self, config: LinearConfig | None = None) -> None:
        super().__init__(config)
        self.classes: list[str] = []
        self.features: Features | None = None
        self.heads: list[dict[str, Any]] = []
        self.meta: dict[str, Any] | None = None
        self.concat: dict[str, Any] | None = None  # one head over the blocks side by side
        self.fusion = "single"  # single | stack | concat | block0, block1, ...
        self.threshold: float | None = None
        self.seconds: dict[str, float] = {}
        self.fusion_scores: dict[str, float] = {}  # each fusion's cross-validated macro-F1, from the last fit
        self.multi_label = False
        self.thresholds: list[float] | None = None  # each label's, where multi-label and tuned

    def fit(self, texts: Sequence[str], labels: Sequence[Any]) -> LinearClassifier:
        """Fit the features (if corpus-trained) and the head (a head per label where each text has a list)."""
        from latentstack.data.labeled import check_labels, normalize_labels, read_labels

        texts = check_texts(texts)
        given, several = read_labels(labels)
        labels = list(given) if several else normalize_labels(given)
        if len(texts) != len(labels):
            msg = f"got {len(texts)} texts and {len(labels)} labels"
            raise InputError(msg)
        if several:
            return self._fit_multi(texts, labels)
        self.classes, self.multi_label, self.thresholds = check_labels(labels), False, None
        y = np.array([self.classes.index(lab) for lab in labels])
        c = self.config
        if c.tune_threshold and len(self.classes) != 2:
            msg = (f"tune_threshold picks the threshold between two classes; these labels have {len(self.classes)} "
                   f"({', '.join(map(str, self.classes[:5]))}{', ...' if len(self.classes) > 5 else ''}): "
                   "train without --tune-threshold")
            raise InputError(msg)
        self.features = self._make_features()
        started = time.perf_counter()
        blocks = self.features.fit_transform(texts)
        self.seconds = {"features": time.perf_counter() - started}
        oof = len(blocks) > 1 or c.tune_threshold
        counts = np.bincount(y)
        if oof and counts.min() < 2:
            msg = (f"class {self.classes[int(counts.argmin())]!r} has one training text: the hybrid's fusion and "
                   "threshold tuning need out-of-fold predictions, so at least two per class; add texts or train "
                   "without --hybrid / --tune-threshold")
            raise InputError(msg)
        self.heads = [fit_head(c.head, x, y, seed=c.seed, c=c.c, alpha=c.alpha, class_weight=c.class_weight, oof=oof)
                      for x in blocks]
        oofs = [h.pop("oof", None) for h in self.heads]
        if oof:  # logistic heads bring their cross-validation's; naive Bayes ones are fitted fold by fold
            oofs = [out_of_fold(c.head, x, y, h["chosen"], c.seed) if o is None else o
                    for o, x, h in zip(oofs, blocks, self.heads, strict=True)]
        self.meta, self.concat, self.fusion, self.fusion_scores = None, None, "single", {}
        if len(blocks) > 1:
            oof_proba = self._fuse(blocks, oofs, y)
        elif c.tune_threshold:
            oof_proba = oofs[0]
        if c.tune_threshold:
            self.threshold = best_threshold(oof_proba[:, 1], y == 1)
        self.seconds["heads"] = time.perf_counter() - started - self.seconds["features"]
        return self

    def _fit_multi(self, texts: list[str], labels: Sequence[Any]) -> LinearClassifier:
        """One yes/no head per label over the features (a hybrid's blocks side by side)."""
        c = self.config
        if c.hybrid and (c.fusion == "stack" or c.head != "logistic"):
            msg = ("a multi-label hybrid joins its blocks side by side under each label's head, which needs "
                   "head=logistic and fusion auto or concat: change them, or drop --hybrid")
            raise InputError(msg)
        self.classes, y = label_matrix(labels, c.tune_threshold)
        self.features = self._make_features()
        started = time.perf_counter()
        blocks = self.features.fit_transform(texts)
        self.seconds = {"features": time.perf_counter() - started}
        x = _joined(blocks)
        options = {"c": c.c, "alpha": c.alpha, "class_weight": c.class_weight}
        self.heads, self.thresholds = fit_label_heads(c.head, x, y, seed=c.seed, options=options, tune=c.tune_threshold)
        self.multi_label, self.threshold, self.meta, self.concat, self.fusion_scores = True, None, None, None, {}
        self.fusion = "concat" if len(blocks) > 1 else "single"
        self.seconds["heads"] = time.perf_counter() - started - self.seconds["features"]
        return self

    def _make_features(self) -> Features:
        """The configured embedder(s), not yet fitted."""
        c = self.config
        shortcuts = {k: v for k, v in {"model": c.model, "pooling": c.pooling}.items() if v is not None}
        features = Features.create(c.embedder, {**shortcuts, **c.embedder_options}, c.hybrid, c.head)
        if c.head == "logistic" and features.sparse:  # the dual solver will run: loading it (and numba) now
            import latentstack_linear.dual_cd  # noqa: F401  lets TF-IDF count its n-grams with numba as well
        return features

    def _fuse(self, blocks: list[Any], oofs: list[np.ndarray], y: np.ndarray) -> np.ndarray:
        """Both fusions of the blocks, the heads stacked and the blocks side by side under one head; keep the one
        (or the single block) that cross-validates best, or the one ``fusion`` names (the other is not fitted).
        Returns its out-of-fold class probabilities; each candidate's score is judged on rows it did not fit.

        The side-by-side head is cross-validated at the setting the TF-IDF block chose (it
        holds nearly all the columns) unless C or class weighting were given; its fit on the
        whole training split runs beside the folds and is kept only when it wins.
        """
        c = self.config
        scores, stacked = {f"block{i}": macro_f1_of(o, y) for i, o in enumerate(oofs)}, None
        if c.fusion != "concat":
            self.meta = fit_meta(oofs, y, c.seed)
            stacked = self.meta.pop("oof")  # the meta-model's C cross-validated like any head's; its out-of-fold view
            scores = {"stack": macro_f1_of(stacked, y), **scores}
        if c.head == "logistic" and c.fusion != "stack":  # naive Bayes cannot read the dense block's negative values
            joined, tfidf = side_by_side(blocks), self.heads[-1]["chosen"]
            chosen, concat_oof, fitted = search_logistic(joined, y, seed=c.seed, c=c.c or tfidf["C"],
                                                         class_weight=c.class_weight or tfidf["class_weight"], oof=True)
            scores["concat"] = chosen["cv_macro_f1"]
        self.fusion, self.fusion_scores = best_fusion(scores) if c.fusion == "auto" else c.fusion, scores
        if self.fusion.startswith("block"):
            return oofs[int(self.fusion.removeprefix("block"))]
        if self.fusion == "concat":
            self.concat = logistic_head(joined, y, chosen, c.seed, fitted)
            return np.asarray(concat_oof)
        return np.asarray(stacked)

    def _check_fitted(self) -> Features:
        if self.features is None:
            msg = "the classifier is not trained: call fit() or load() first"
            raise InputError(msg)
        return self.features

    def count_truncated(self, texts: Sequence[str]) -> int:
        """The most texts any of the feature embedders cuts."""
        return max(emb.count_truncated(texts) for emb in self._check_fitted().embedders)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, columns in ``classes`` order."""
        blocks = self._check_fitted().transform(check_texts(texts))
        if self.multi_label:
            return label_proba(self.config.head, self.heads, _joined(blocks))
        if self.fusion == "concat" and self.concat is not None:
            h = self.concat
            return head_proba("logistic", h["coef"], h["intercept"], side_by_side(blocks), h["chosen"]["multi"])
        probas = [head_proba(self.config.head, h["coef"], h["intercept"], x, h["chosen"].get("multi", "multinomial"))
                  for h, x in zip(self.heads, blocks, strict=True)]
        if self.meta is None:
            return probas[0]
        if self.fusion.startswith("block"):
            return probas[int(self.fusion.removeprefix("block"))]
        z = np.hstack([log_proba(p) for p in probas])
        return head_proba("logistic", self.meta["coef"], self.meta["intercept"], z)

    def labels_of(self, proba: Any) -> list[Any]:
        """Labels; with a tuned threshold, the second class wins from that probability up. Multi-label: each
        text's labels whose probability reaches their threshold (0.5, or each label's tuned one)."""
        if self.multi_label:
            return label_sets_of(np.asarray(proba), self.classes, self.thresholds)
        if self.threshold is None:
            return super().labels_of(proba)
        return [self.classes[int(p >= self.threshold)] for p in proba[:, 1]]

    def trainable_parameters(self) -> int:
        """Weights of the head."""
        heads = [self.concat] if self.fusion == "concat" and self.concat else [*self.heads, *([self.meta] if self.meta else [])]
        return int(sum(h["coef"].size + h["intercept"].size for h in heads))

    def training_report(self) -> dict[str, Any]:
        """The hyperparameters cross-validation chose, and which fusion of the blocks it kept."""
        report: dict[str, Any] = {"chosen": self.chosen, "fusion": self.fusion}
        if self.multi_label:  # one head per label: each label's choice, by name
            report["chosen"] = dict(zip(map(str, self.classes), self.chosen, strict=True))
            if self.thresholds is not None:
                report["thresholds"] = dict(zip(map(str, self.classes), self.thresholds, strict=True))
        if self.fusion_scores:
            report["fusion_scores"] = {k: round(v, 4) for k, v in self.fusion_scores.items()}
        if self.seconds:  # the last fit's, split: computing the features (embedding), and fitting the heads
            report["seconds"] = {k: round(v, 2) for k, v in self.seconds.items()}
        if self.concat is not None:
            report["concat_chosen"] = self.concat["chosen"]
        return report

    @property
    def chosen(self) -> list[dict[str, Any]]:
        """Hyperparameters cross-validation chose, one dict per feature block (per label where multi-label)."""
        return [h["chosen"] for h in self.heads]

    def save(self, path: str | Path) -> None:
        """head.npz (+ fitted TF-IDF state) under a checksummed manifest, atomically; no pickle."""
        features = self._check_fitted()
        with component_dir(path, "classifier") as tmp:
            arrays = {f"{k}_{i}": h[k] for i, h in enumerate(self.heads) for k in ("coef", "intercept")}
            if self.meta is not None:
                arrays.update(meta_coef=self.meta["coef"], meta_intercept=self.meta["intercept"])
            if self.concat is not None:
                arrays.update(concat_coef=self.concat["coef"], concat_intercept=self.concat["intercept"])
            np.savez(tmp / "head.npz", **arrays)
            features.save(tmp)
            data = {"classes": self.classes, "features": features.describe(), "threshold": self.threshold,
                    "chosen": self.chosen, "stacked": self.meta is not None, "fusion": self.fusion,
                    "concat_chosen": self.concat["chosen"] if self.concat is not None else None}
            if self.multi_label:
                data.update(multi_label=True, thresholds=self.thresholds)
            write_manifest(tmp, kind="classifier", plugin=self.name, version=FORMAT, config=self.config.to_dict(),
                           data=data)

    @classmethod
    def load(cls, path: str | Path, *, embedder: Embedder | None = None) -> LinearClassifier:
        """Read a saved classifier; a damaged folder or a missing or different base model is a clear error.

        ``embedder`` computes the features instead of the saved one, when it is the same
        model by another runtime (e.g. the ``onnx`` export of the ``bert`` embedder).
        """
        manifest = read_manifest(path, kind="classifier", plugin=cls.name, version=FORMAT)
        path, data = manifest.path, manifest.data
        with reading(path, "linear classifier"):
            with np.load(path / "head.npz", allow_pickle=False) as arrays:
                heads = [{"coef": arrays[f"coef_{i}"], "intercept": arrays[f"intercept_{i}"], "chosen": ch}
                         for i, ch in enumerate(data["chosen"])]
                meta = ({"coef": arrays["meta_coef"], "intercept": arrays["meta_intercept"], "chosen": {}}
                        if data["stacked"] else None)
                concat = ({"coef": arrays["concat_coef"], "intercept": arrays["concat_intercept"],
                           "chosen": data["concat_chosen"]} if data["concat_chosen"] else None)
            clf = cls.from_options(**manifest.config)
            clf.classes, clf.threshold = list(data["classes"]), data["threshold"]
            clf.multi_label, clf.thresholds = bool(data.get("multi_label")), data.get("thresholds")
            tuned = clf.thresholds is not None and len(clf.thresholds) != len(clf.classes)
            if clf.multi_label and (tuned or len(heads) != len(clf.classes) or any(h["coef"].shape[0] > 2 for h in heads)):
                msg = f"the multi-label heads do not match its {len(clf.classes)} labels"
                raise ValueError(msg)
            if not clf.multi_label and any(h["coef"].shape[0] not in (1, len(clf.classes)) for h in heads):
                msg = f"the head's weights do not match its {len(clf.classes)} classes"
                raise ValueError(msg)
        clf.heads, clf.meta, clf.concat = heads, meta, concat
        clf.fusion = str(data["fusion"])
        clf.features = Features.load(path, data["features"], embedder)
        return clf


def _joined(blocks: list[Any]) -> Any:
    """The features every label's head reads: a hybrid's blocks side by side, or the one block."""
    return side_by_side(blocks) if len(blocks) > 1 else blocks[0]
