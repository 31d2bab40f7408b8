"""Which tuned threshold generalises: the lowest cut of best out-of-fold F1, or the middle of its gap.

`--tune-threshold` picks the positive-class cut that maximises F1 on out-of-fold
probabilities. Any cut in the gap between the chosen probability and the next lower one
gives the same out-of-fold F1; the rule so far takes the gap's top (the chosen probability
itself), the alternative its middle. Both are scored on the test split, with MiniLM's
vectors under the logistic head, over seeded draws of k texts a class and on the whole
training split:

    python benchmarks/threshold_rule.py benchmarks/data/sms-spam.tsv OUT.json
"""

from __future__ import annotations

import json
import sys

import numpy as np

from latentstack import get_embedder
from latentstack.bench.report import environment
from latentstack.data.labeled import load_labeled
from latentstack_linear.heads import best_threshold, fit_head, head_proba

SIZES = (8, 16, 32, 64, 0)  # texts a class; 0: the whole training split
DRAWS = 10


def middle_threshold(proba: np.ndarray, is_pos: np.ndarray) -> float:
    """The middle of the gap below ``best_threshold``'s cut (the same out-of-fold F1)."""
    top = best_threshold(proba, is_pos)
    below = np.unique(np.round(proba, 4))
    below = below[below < top]
    return float((below[-1] + top) / 2) if len(below) else top


def f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = float(np.sum(pred & truth))
    return 2 * tp / max(float(pred.sum() + truth.sum()), 1.0)


def draw(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False) for c in (0, 1)])


def main(data: str, out: str) -> None:
    splits = load_labeled(data)
    train, test = splits["train"], splits["test"]
    emb = get_embedder("bert", model="minilm", show_progress=False)
    x, xt = emb.embed_many(train.texts), emb.embed_many(test.texts)
    y = np.array([label == "spam" for label in train.labels], dtype=int)
    truth = np.array([label == "spam" for label in test.labels])
    rows = []
    for k in SIZES:
        for seed in range(DRAWS if k else 1):
            pick = draw(y, k, seed) if k else np.arange(len(y))
            head = fit_head("logistic", x[pick], y[pick], seed=seed, c=None, alpha=None, class_weight=None, oof=True)
            oof = head.pop("oof")[:, 1]
            p = head_proba("logistic", head["coef"], head["intercept"], xt, head["chosen"].get("multi", ""))[:, 1]
            cuts = {"half": 0.5, "top": best_threshold(oof, y[pick] == 1), "middle": middle_threshold(oof, y[pick] == 1)}
            row = {"per_class": k or "all", "seed": seed, **{f"cut_{n}": round(t, 4) for n, t in cuts.items()},
                   **{f"f1_{n}": round(f1(p >= t, truth), 4) for n, t in cuts.items()}}
            rows.append(row)
            sys.stdout.write(json.dumps(row) + "\n")
    summary = {}
    for k in SIZES:
        part = [r for r in rows if r["per_class"] == (k or "all")]
        summary[str(k or "all")] = {n: round(float(np.mean([r[f"f1_{n}"] for r in part])), 4)
                                    for n in ("half", "top", "middle")}
        gain = np.array([r["f1_middle"] - r["f1_top"] for r in part])
        summary[str(k or "all")]["middle_minus_top"] = round(float(gain.mean()), 4)
        summary[str(k or "all")]["middle_wins_ties_losses"] = [int((gain > 0).sum()), int((gain == 0).sum()),
                                                               int((gain < 0).sum())]
    sys.stdout.write(json.dumps(summary, indent=1) + "\n")
    with open(out, "w") as f:
        json.dump({"data": data, "model": "minilm", "head": "logistic", "metric": "F1 of spam on the test split",
                   "env": environment(), "summary": summary, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
