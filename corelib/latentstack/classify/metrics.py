"""Classification metrics with the names of DESIGN.md (accuracy, macro_f1, f1_positive)."""

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
