"""``latentstack bench labels``: how many labeled examples each kind of feature needs.

For every method and every number of labeled examples per class, the same seeded
stratified draws of the training split; feature methods learn their codes (TF-IDF
vocabulary, LSA, the autoencoder) from all training texts without their labels, embed
once, and fit one logistic head per draw (C by cross-validation inside the draw).
``finetune-lora`` and ``setfit`` train the encoder on each draw, so they run at sizes up
to ``--costly-up-to`` and on all labels (``--costly-all``). Scores are macro-F1 and accuracy on the fixed
test split, mean and spread over the draws.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from latentstack.bench.options import bench_options, split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult
from latentstack.cli.labeled_options import labeled_options
from latentstack.progress import log, quiet
from latentstack_bench.classify import load_split
from latentstack_bench.fewshot import ALL, draws, fit_head, parse_sizes, reaches, scores, side_by_side, summarize
from latentstack_bench.partial import Partial


def features(model: str) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Feature methods: the embedder blocks whose vectors one logistic head reads ("hybrid" has two)."""
    encoder = {"model": model, "pooling": "mean"}
    return {
        "tfidf": [("tfidf", {})],
        "lsa": [("lsa", {"max_features": 20000})],
        "autoencoder-tfidf": [("autoencoder", {})],
        "autoencoder-minilm": [("autoencoder", {"input": "bert", "input_options": encoder})],
        "bert-mean": [("bert", encoder)],
        "llm-mean": [("llm", {"pooling": "mean"})],
        "hybrid": [("bert", encoder), ("tfidf", {})],
    }


COSTLY = ["finetune-lora", "setfit"]
KNOWN = [*features(""), *COSTLY]
#: Run only when named: finetune-lora with a random head on the raw mean (``head="random"``), as it trained before.
ABLATIONS = ["finetune-lora-random-head"]


def embed_block(name: str, options: dict[str, Any], train: list[str], test: list[str]) -> tuple[Any, Any]:
    """One embedder's train and test vectors; corpus-trained embedders fit on the training texts, no labels."""
    from latentstack import get_embedder

    emb = get_embedder(name, **options)
    if emb.trainable:
        emb.fit(train)
    return emb.embed_many(train), emb.embed_many(test)


def feature_rows(method: str, ctx: dict[str, Any]) -> list[MethodResult]:
    """Embed once, then a head per draw: one row per size."""
    train, test = ctx["train"], ctx["test"]
    t0 = time.perf_counter()
    blocks = [embed_block(n, o, train.texts, test.texts) for n, o in features(ctx["model"])[method]]
    x_train, x_test = side_by_side(blocks)
    features_s = time.perf_counter() - t0
    rows = []
    for size in ctx["sizes"]:
        runs, t0 = [], time.perf_counter()
        for idx in draws(train.labels, size, ctx["repeats"], ctx["seed"]):
            y = [train.labels[i] for i in idx]
            runs.append(scores(test.labels, list(fit_head(x_train[idx], y, ctx["seed"]).predict(x_test))))
        head_s = (time.perf_counter() - t0) / len(runs)
        rows.append(row(method, size, runs, {"features_s": round(features_s, 1), "head_s": round(head_s, 2)}))
    return rows


def costly_rows(method: str, ctx: dict[str, Any]) -> list[MethodResult]:
    """Train the encoder on each draw, at the affordable sizes and on all labels."""
    from latentstack_bench import peers

    train, test = ctx["train"], ctx["test"]
    rows = []
    trained = "finetune-lora" if method in ABLATIONS else method
    affordable = [s for s in ctx["sizes"] if (s == ALL and trained in ctx["costly_all"]) or (s != ALL and int(s) <= ctx["costly_up_to"])]
    for size in affordable:
        runs, t0 = [], time.perf_counter()
        for r, idx in enumerate(draws(train.labels, size, ctx["repeats"], ctx["seed"])):
            texts, y = [train.texts[i] for i in idx], [train.labels[i] for i in idx]
            if method == "setfit":
                pred = peers.setfit(ctx["model"], texts, y, test.texts, ctx["seed"] + r,
                                    max_steps=ctx["setfit_max_steps"], show_progress=not quiet())
            else:
                probe = method != "finetune-lora-random-head"
                pred = peers.finetune_lora(ctx["model"], texts, y, test.texts, ctx["seed"] + r, probe=probe)
            runs.append(scores(test.labels, pred))
        rows.append(row(method, size, runs, {"train_s": round((time.perf_counter() - t0) / len(runs), 1)}))
    return rows


def row(method: str, size: int | str, runs: list[dict[str, float]], timing: dict[str, float]) -> MethodResult:
    """One (method, labels per class) row: mean and spread of the scores over the draws."""
    log(f"labels: {method} at {size} per class: macro-F1 {np.mean([r['macro_f1'] for r in runs]):.4f}")
    return MethodResult(method, summarize(runs), timing, params={"labels_per_class": size, "draws": len(runs)})


def curves(report: BenchReport) -> dict[str, dict[int | str, float]]:
    """Mean macro-F1 by labels per class, per method."""
    out: dict[str, dict[int | str, float]] = {}
    for r in report.results:
        out.setdefault(r.method, {})[r.params["labels_per_class"]] = r.metrics["macro_f1"]
    return out


def chart(full_per_class: float) -> Callable[[BenchReport, Path], None]:
    """Macro-F1 against labels per class (log scale), 'all' drawn at the training split's mean per class."""

    def draw(report: BenchReport, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from latentstack.atomic import atomic_file

        fig, ax = plt.subplots(figsize=(9, 5.5))
        for method in curves(report):
            pts = [(full_per_class if r.params["labels_per_class"] == ALL else r.params["labels_per_class"],
                    r.metrics["macro_f1"], r.metrics["macro_f1_sd"]) for r in report.results if r.method == method]
            xs, ys, sds = zip(*pts, strict=True)
            ax.errorbar(xs, ys, yerr=sds, marker="o", capsize=3, label=method)
        ax.set_xscale("log")
        ax.set_xlabel(f"labeled examples per class (log; the last point is all, {full_per_class:.0f} on average)")
        ax.set_ylabel("macro-F1 on the test split (mean, bars: sd over draws)")
        ax.set_title(f"{report.data}: how many labels each kind of feature needs")
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        with atomic_file(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        plt.close(fig)

    return draw


@click.command("labels")
@bench_options(",".join(KNOWN))
@click.option("--sizes", default="8,16,32,64,128,all", show_default=True, help="Labeled examples per class ('all': every one).")
@click.option("--repeats", type=click.IntRange(1, 50), default=5, show_default=True, help="Seeded draws per size.")
@click.option("--model", default="minilm", show_default=True, help="Sentence encoder for bert, hybrid, finetune and setfit.")
@click.option("--costly-up-to", type=click.IntRange(1), default=32, show_default=True,
              help="Largest per-class size at which finetune-lora and setfit run (besides all).")
@click.option("--costly-all", default=",".join(COSTLY), show_default=True,
              help="Which of finetune-lora and setfit also train on all labels ('' for neither).")
@click.option("--setfit-max-steps", type=click.IntRange(1), default=500, show_default=True,
              help="Cap on SetFit's contrastive steps (16 pairs each).")
@click.option("--partial", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Keep each finished method's rows in this file; a rerun with the same settings resumes from it.")
@labeled_options
@suite
def labels(data: str, methods: str, limit: int | None, seed: int, sizes: str, repeats: int, model: str,
           costly_up_to: int, costly_all: str, setfit_max_steps: int, partial: Path | None, **reading: Any) -> BenchReport:
    """Macro-F1 against the number of labeled examples per class, for every kind of feature."""
    from latentstack_bench import peers

    chosen = split_methods(methods, [*KNOWN, *ABLATIONS])
    if "setfit" in chosen and not peers.has_setfit():
        raise click.BadParameter("setfit is not installed: pip install 'latentstack[bench]', or leave it out",
                                 param_hint="--methods")
    try:
        size_list = parse_sizes(sizes)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--sizes") from None
    train, test = load_split(data, limit, seed, **reading)
    unknown = [m for m in costly_all.split(",") if m.strip() and m.strip() not in COSTLY]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}: choose among {', '.join(COSTLY)}", param_hint="--costly-all")
    ctx = {"train": train, "test": test, "sizes": size_list, "repeats": repeats, "seed": seed, "model": model,
           "costly_up_to": costly_up_to, "costly_all": [m.strip() for m in costly_all.split(",") if m.strip()],
           "setfit_max_steps": setfit_max_steps}
    classes = sorted(set(train.labels))
    report = BenchReport("labels", Path(data).name, len(test), chart=chart(len(train) / len(classes)),
                         params={"train": len(train), "test": len(test), "classes": len(classes), "sizes": size_list,
                                 "repeats": repeats, "seed": seed, "holdout": reading["holdout"], "model": model,
                                 "costly_up_to": costly_up_to,
                                 "costly_all": ctx["costly_all"], "setfit_max_steps": setfit_max_steps,
                                 "head": "logistic regression, C by stratified CV on macro-F1 inside each draw"})
    kept = Partial(partial, {"data": str(Path(data).resolve()), "limit": limit, **reading, **report.params})
    for method in chosen:
        rows = kept.rows(method)
        log(f"labels: {method}" + (f" (rows kept in {partial})" if rows else ""))
        if rows is None:
            rows = costly_rows(method, ctx) if method in [*COSTLY, *ABLATIONS] else feature_rows(method, ctx)
            kept.add(method, rows)
        report.results += rows
    report.params["reaches_95_percent_of_all"] = {m: reaches(c) for m, c in curves(report).items()}
    return report

