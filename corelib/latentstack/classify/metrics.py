"""Classification metrics with the names of DESIGN.md (accuracy, macro_f1, f1_positive), and their multi-label
counterparts (scikit-learn's names)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def minority_class(labels: Sequence[str]) -> str:
    """The rarest label (ties broken by name): the "positive" class, e.g. spam."""
    counts = Counter(labels)
    return min(counts, key=lambda c: (counts[c], c))


def classification_metrics(gold: Sequence[str], pred: Sequence[str], classes: Sequence[str],
                           positive: str | None = None) -> dict[str, float]:
    """accuracy, macro_f1, f1_positive (F1 of the minority class) and f1 per class."""
    from sklearn.metrics import accuracy_score, f1_score

    positive = positive or minority_class(gold)
    per_class = f1_score(gold, pred, labels=list(classes), average=None, zero_division=0)
    out = {
        "accuracy": float(accuracy_score(gold, pred)),
        "macro_f1": float(f1_score(gold, pred, labels=list(classes), average="macro", zero_division=0)),
        "f1_positive": float(per_class[list(classes).index(positive)]) if positive in classes else 0.0,
    }
    out.update({f"f1[{c}]": float(f) for c, f in zip(classes, per_class, strict=True)})
    return out


def multilabel_metrics(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]],
                       classes: Sequence[str]) -> dict[str, float]:
    """Several labels per text: subset accuracy (every label right), micro- and macro-F1 over the labels, the
    mean per-text F1 (samples_f1), the Hamming loss (the share of text-label pairs wrong), and f1 per label."""
    from sklearn.metrics import accuracy_score, f1_score, hamming_loss
    from sklearn.preprocessing import MultiLabelBinarizer

    binarize = MultiLabelBinarizer(classes=list(classes))
    y, p = binarize.fit_transform(gold), binarize.transform(pred)
    per_label = f1_score(y, p, average=None, zero_division=0)
    out = {
        "subset_accuracy": float(accuracy_score(y, p)),
        "micro_f1": float(f1_score(y, p, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(y, p, average="macro", zero_division=0)),
        "samples_f1": float(f1_score(y, p, average="samples", zero_division=1.0)),  # no labels, none given: 1
        "hamming_loss": float(hamming_loss(y, p)),
    }
    out.update({f"f1[{c}]": float(f) for c, f in zip(classes, per_label, strict=True)})
    return out


def scores(gold: Sequence[object], pred: Sequence[object], classes: Sequence[str], multi_label: bool) -> dict[str, float]:
    """``multilabel_metrics`` or ``classification_metrics``, as the classifier labels."""
    if multi_label:
        return multilabel_metrics(gold, pred, classes)  # type: ignore[arg-type]
    return classification_metrics(gold, pred, classes)  # type: ignore[arg-type]
