"""``latentstack bench classify``: every classifier method on one labeled split, side by side.

The spam question again with language models: naive Bayes and logistic regression on
TF-IDF, LSA codes, frozen MiniLM features ([CLS] or mean), TF-IDF and MiniLM fused (the
fusion cross-validation keeps, and each of the two alone), LoRA and full fine-tuning.
Hyperparameters are chosen by cross-validation on the training split only. The embedding
cache is fresh for each run, so training times include embedding;
``bert-mean+linear:2nd-head`` then shows a second head on cached features.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from latentstack.bench.options import bench_options, split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult
from latentstack.bench.scratch import scratch_dir
from latentstack.cli.labeled_options import labeled_options
from latentstack.errors import InputError
from latentstack.progress import log

METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "tfidf+nb": ("linear", {"embedder": "tfidf", "head": "nb"}),  # word unigrams, alpha by CV
    "tfidf+linear": ("linear", {"embedder": "tfidf"}),
    "lsa+linear": ("linear", {"embedder": "lsa"}),
    "bert-cls+linear": ("linear", {"embedder": "bert", "embedder_options": {"pooling": "cls"}}),
    "bert-mean+linear": ("linear", {"embedder": "bert", "embedder_options": {"pooling": "mean"}}),
    "bert-mean+linear:2nd-head": ("linear", {"embedder": "bert", "embedder_options": {"pooling": "mean"},
                                             "class_weight": "balanced", "c": 10.0}),
    "llm-mean+linear": ("linear", {"embedder": "llm", "embedder_options": {"pooling": "mean"}}),
    "hybrid+linear": ("linear", {"embedder": "bert", "embedder_options": {"pooling": "mean"}, "hybrid": True}),
    # each fusion alone, to set the one cross-validation keeps beside both
    "hybrid-stack+linear": ("linear", {"embedder": "bert", "embedder_options": {"pooling": "mean"}, "hybrid": True,
                                       "fusion": "stack"}),
    "hybrid-concat+linear": ("linear", {"embedder": "bert", "embedder_options": {"pooling": "mean"}, "hybrid": True,
                                        "fusion": "concat"}),
    "finetune-lora": ("finetune", {"mode": "lora", "rank": 8}),  # up to 6 epochs, the best on validation kept
    "finetune-full": ("finetune", {"mode": "full", "epochs": 2}),
}
DEFAULT = ",".join(METHODS)


def load_split(data: str, limit: int | None, seed: int, train_split: str = "train", test_split: str = "test",
               **options: Any) -> tuple[Any, Any]:
    """The train and test splits of a labeled file (a seeded sample of ``limit`` training rows when given).

    ``options`` say how to read it (``labeled_options``: columns, a held-out share).
    """
    import random

    from latentstack.cli.labeled_options import read_splits
    from latentstack.data.labeled import Labeled

    splits = read_splits(data, [train_split, test_split], seed, **options)
    train = splits[train_split]
    if train.multi_label:
        msg = f"{data} gives texts several labels: the bench suites compare classifiers of one label per text"
        raise InputError(msg)
    if limit:
        idx = sorted(random.Random(seed).sample(range(len(train)), min(limit, len(train))))
        train = Labeled([train.texts[i] for i in idx], [train.labels[i] for i in idx])
    return train, splits[test_split]


def folder_bytes(path: Path) -> int:
    """Total size of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def warm_up_sample(train: Any, per_class: int = 5) -> tuple[list[str], list[str]]:
    """The first few training texts of each class, and their labels."""
    picked = [i for label in sorted(set(train.labels))
              for i in [j for j, lab in enumerate(train.labels) if lab == label][:per_class]]
    return [train.texts[i] for i in picked], [train.labels[i] for i in picked]


def run_method(method: str, model: str, train: Any, test: Any, seed: int, tmp: Path) -> MethodResult:
    """Fit on train, score on test, save to measure the stored bytes.

    An untimed fit on a few texts per class comes first, so that ``train_s`` counts
    training, not the process's first imports of the method's libraries or its model's load.
    """
    from latentstack import get_classifier
    from latentstack.classify.metrics import classification_metrics, minority_class

    kind, options = METHODS[method]
    options = dict(options)
    if kind == "finetune":
        options["model"] = model
    elif options.get("embedder") == "bert":
        options["embedder_options"] = {**options["embedder_options"], "model": model, "show_progress": False}
    log(f"classify: {method}")
    get_classifier(kind, seed=seed, **options).fit(*warm_up_sample(train))
    clf = get_classifier(kind, seed=seed, **options)  # timed below; the fit above paid the one-off imports and loads
    t0 = time.perf_counter()
    clf.fit(train.texts, train.labels)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = clf.predict(test.texts)
    pred_s = time.perf_counter() - t0
    metrics = classification_metrics(test.labels, pred, clf.classes, minority_class(train.labels))
    clf.save(tmp / method)
    extra = clf.training_report()
    split = {f"{part}_s": s for part, s in extra.pop("seconds", {}).items()}  # features (embedding) and heads
    return MethodResult(method, {k: round(v, 4) for k, v in metrics.items()}, {
        "train_s": round(train_s, 2), **split, "predict_per_s": round(len(test.texts) / max(pred_s, 1e-9), 1),
        "trainable_params": clf.trainable_parameters(), "stored_bytes": folder_bytes(tmp / method)}, extra)


def scatter(report: BenchReport, path: Path) -> None:
    """F1 of the positive class against training time; marker area grows with stored bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from latentstack.atomic import atomic_file

    fig, ax = plt.subplots(figsize=(8, 5))
    for r in report.results:
        size = 20 + 300 * np.log10(1 + r.timing["stored_bytes"]) / 8
        ax.scatter(r.timing["train_s"], r.metrics["f1_positive"], s=size, alpha=0.6)
        ax.annotate(r.method, (r.timing["train_s"], r.metrics["f1_positive"]), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")
    logged = all(r.timing["train_s"] > 0 for r in report.results)  # a tiny set can train in 0.0 s (rounded)
    if logged:
        ax.set_xscale("log")
    ax.set_xlabel(f"training time, s ({'log; ' if logged else ''}embedding included)")
    ax.set_ylabel("F1 of the minority class")
    ax.set_title(f"{report.data}: F1 vs training time (marker size ~ log stored bytes)")
    fig.tight_layout()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


@click.command("classify")
@bench_options(DEFAULT)
@click.option("--model", default="minilm", show_default=True, help="Encoder for the bert and finetune methods.")
@click.option("--train-split", default="train", show_default=True)
@click.option("--test-split", default="test", show_default=True)
@labeled_options
@suite
def classify(data: str, methods: str, limit: int | None, seed: int, model: str, train_split: str,
             test_split: str, **reading: Any) -> BenchReport:
    """Accuracy, macro-F1, minority F1, training time, throughput, parameters and bytes per method."""
    chosen = split_methods(methods, list(METHODS))
    train, test = load_split(data, limit, seed, train_split, test_split, **reading)
    tmp = scratch_dir("classify")
    report = BenchReport("classify", Path(data).name, len(test), chart=scatter,
                         params={"train": len(train), "test": len(test), "model": model, "seed": seed,
                                 "holdout": reading["holdout"],
                                 "classes": sorted(set(train.labels))})
    with _cache_at(tmp / "cache"):  # cold cache: times include embedding
        report.results = [run_method(m, model, train, test, seed, tmp) for m in chosen]
    return report


@contextmanager
def _cache_at(folder: Path) -> Iterator[None]:
    """``$LATENTSTACK_CACHE`` set to ``folder`` inside the block, and as it was after."""
    before = os.environ.get("LATENTSTACK_CACHE")
    os.environ["LATENTSTACK_CACHE"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LATENTSTACK_CACHE", None)
        else:
            os.environ["LATENTSTACK_CACHE"] = before
