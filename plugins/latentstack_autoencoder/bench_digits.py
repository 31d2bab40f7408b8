"""``latentstack bench latent``: PCA against the autoencoder on scikit-learn's 8x8 digits (no download).

The 2006 experiment in small: 1,797 images of 64 pixels, a stratified 70/30 split; for
each code size, PCA's codes and the autoencoder's codes (both learnt on the training
images without their labels), raw pixels once, each read by the same logistic head
(standardised inputs, C by 5-fold cross-validation on the training split). Reports test
accuracy, macro-F1 and the test reconstruction error per pixel (pixels scaled to 0..1),
and draws the 2-d codes of both, coloured by digit.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from latentstack.bench.options import Counts, bench_options, split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult
from latentstack.progress import log

METHODS = ["pixels", "pca", "autoencoder"]


def probe(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray, seed: int) -> dict[str, float]:
    """Accuracy and macro-F1 of a logistic head (C by 5-fold CV) on standardised codes."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    head = make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=[0.01, 0.1, 1.0, 10.0, 100.0], cv=5, max_iter=5000,
                                                                random_state=seed))
    pred = head.fit(train, y_train).predict(test)
    return {"accuracy": round(float(accuracy_score(y_test, pred)), 4),
            "macro_f1": round(float(f1_score(y_test, pred, average="macro")), 4)}


def codes(method: str, size: int, train: np.ndarray, test: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, float, dict[str, Any]]:
    """Train and test codes of one method at one size, and its test reconstruction error per pixel."""
    from latentstack_autoencoder.codec import CodecConfig, fit_codec, pca_fit

    if method == "pca":
        mean, comps = pca_fit(train, np.arange(len(train)), size)
        z_train, z_test = (train - mean) @ comps.T, (test - mean) @ comps.T
        return z_train, z_test, float(np.mean((z_test @ comps + mean - test) ** 2)), {}
    codec = fit_codec(train, CodecConfig(code=size, seed=seed), desc=f"autoencoder {size}-d")
    z_test = codec.encode(test)
    extra = {k: codec.report[k] for k in ("best_epoch", "epochs_run")}
    return codec.encode(train), z_test, float(np.mean((codec.decode(z_test) - test) ** 2)), extra


def picture(points: dict[str, tuple[np.ndarray, np.ndarray]]) -> Any:
    """A chart function drawing each method's 2-d codes side by side, coloured by digit."""

    def draw(report: BenchReport, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from latentstack.atomic import atomic_file

        fig, axes = plt.subplots(1, len(points), figsize=(6 * len(points), 5.5), squeeze=False)
        for ax, (method, (z, y)) in zip(axes[0], points.items(), strict=True):
            sc = ax.scatter(z[:, 0], z[:, 1], c=y, cmap="tab10", s=7, alpha=0.8)
            row = next((r for r in report.results if r.method == f"{method}-2"), None)
            acc = f"\nlogistic probe accuracy {row.metrics['accuracy']:.2f}" if row else ""
            ax.set_title(f"{method}: 2-d codes of the test digits{acc}", fontsize=10)
        fig.colorbar(sc, ax=axes[0].tolist(), ticks=range(10), label="digit")
        with atomic_file(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
        plt.close(fig)

    return draw


@click.command("latent")
@bench_options(",".join(METHODS), data_required=False)
@click.option("--sizes", type=Counts(), default="2,8,16", show_default=True, help="Code sizes to compare.")
@click.option("--test-size", type=click.FloatRange(0.1, 0.9), default=0.3, show_default=True)
@suite
def latent(data: str | None, methods: str, limit: int | None, seed: int, sizes: list[int], test_size: float) -> BenchReport:
    """Raw pixels, PCA codes and autoencoder codes of the 8x8 digits: probe accuracy and reconstruction."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if data:
        raise click.BadParameter("the latent suite reads scikit-learn's bundled digits; leave --data out", param_hint="--data")
    chosen = split_methods(methods, METHODS)
    code_sizes = sorted(sizes)
    if code_sizes[-1] > 64:
        raise click.BadParameter("code sizes run from 1 to 64 (an image has 64 pixels)", param_hint="--sizes")
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    if limit:
        x, y = x[:limit], y[:limit]
    train, test, y_train, y_test = train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)
    points: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    report = BenchReport("latent", "sklearn digits 8x8", len(test), chart=picture(points),
                         params={"train": len(train), "test": len(test), "sizes": code_sizes, "seed": seed,
                                 "head": "standardised logistic regression, C by 5-fold CV"})
    for method in chosen:
        for size in [64] if method == "pixels" else code_sizes:
            log(f"latent: {method} {size}")
            t0 = time.perf_counter()
            extra: dict[str, Any] = {}
            if method == "pixels":
                z_train, z_test, error = train, test, 0.0
            else:
                z_train, z_test, error, extra = codes(method, size, train, test, seed)
            fit_s = time.perf_counter() - t0
            if size == 2:
                points[method] = (z_test, y_test)
            metrics = {**probe(z_train, y_train, z_test, y_test, seed), "reconstruction_mse": round(error, 5)}
            report.results.append(MethodResult(f"{method}-{size}", metrics, {"fit_s": round(fit_s, 2)}, extra,
                                               params={"code_size": size}))
    return report
