"""``latentstack classify train/predict/eval``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from latentstack.errors import InputError
from latentstack.textfile import read_text


@click.group()
def classify() -> None:
    """Train text classifiers on language-model features, or fine-tune one."""


def _data_options(fn: Any) -> Any:
    for opt in reversed([
        click.option("--text-col", default="text", show_default=True),
        click.option("--label-col", default="label", show_default=True),
        click.option("--split-col", default="split", show_default=True),
    ]):
        fn = opt(fn)
    return fn


@classify.command()
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False), help="TSV, CSV or JSONL.")
@click.option("--split", default="train", show_default=True, help="Which split to train on.")
@click.option("--method", type=click.Choice(["linear", "finetune"]), default="linear", show_default=True)
@click.option("--embedder", default="bert", show_default=True, help="linear: embedder for the features.")
@click.option("--model", default="minilm", show_default=True)
@click.option("--pooling", type=click.Choice(["cls", "mean"]), default=None,
              help="bert features: default mean. finetune head: default mean for lora, cls for full.")
@click.option("--head", type=click.Choice(["linear", "logistic", "nb"]), default="logistic", show_default=True,
              help="linear: logistic regression (alias linear) or naive Bayes (tfidf features).")
@click.option("--hybrid", is_flag=True, help="linear: put TF-IDF features beside the embedder's.")
@click.option("--tune-threshold", is_flag=True, help="linear, two classes: tune the decision cut for minority F1.")
@click.option("--mode", type=click.Choice(["lora", "full"]), default="lora", show_default=True, help="finetune.")
@click.option("--epochs", type=int, default=None,
              help="finetune: most epochs, the best on validation kept [default: 6 for lora, 3 for full].")
@click.option("--rank", type=int, default=8, show_default=True, help="finetune --mode lora.")
@click.option("--group-by-length", is_flag=True,
              help="finetune: batch texts of similar length together (less padding, about 2x faster epochs here).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@_data_options
def train(data: str, split: str, method: str, embedder: str, model: str, pooling: str, head: str, hybrid: bool,
          tune_threshold: bool, mode: str, epochs: int | None, rank: int, group_by_length: bool, seed: int,
          out: Path, text_col: str, label_col: str, split_col: str) -> None:
    """Train a classifier on one split of a labeled file and save it to OUT."""
    from latentstack import get_classifier
    from latentstack.data.labeled import load_labeled

    splits = load_labeled(data, text_col=text_col, label_col=label_col, split_col=split_col)
    if split not in splits:
        msg = f"{data} has no split {split!r} (splits: {', '.join(sorted(splits))})"
        raise InputError(msg)
    if method == "linear":
        options = {"model": model, "pooling": pooling or "mean"} if embedder == "bert" else {}
        clf = get_classifier("linear", embedder=embedder, embedder_options=options, hybrid=hybrid,
                             head="logistic" if head == "linear" else head, tune_threshold=tune_threshold, seed=seed)
    else:
        clf = get_classifier("finetune", model=model, mode=mode, epochs=epochs, rank=rank, pooling=pooling,
                             group_by_length=group_by_length, seed=seed)
    part = splits[split]
    clf.fit(part.texts, part.labels)
    clf.save(out)
    click.echo(f"trained {method} on {len(part)} texts ({', '.join(clf.classes)}); saved to {out}")


ONNX = click.option("--onnx", "onnx_dir", type=click.Path(exists=True, file_okay=False), default=None,
                    help="linear: compute the features with this ONNX export of the same bert model.")


def _load(directory: Path, onnx_dir: str | None = None) -> Any:
    from latentstack.errors import CorruptFileError
    from latentstack.registry import get_registry

    try:
        name = json.loads((directory / "manifest.json").read_text())["classifier"]
    except (OSError, ValueError, KeyError) as exc:
        msg = f"{directory} is not a saved classifier (no readable manifest.json); train one with `classify train`"
        raise CorruptFileError(msg) from exc
    cls = get_registry().get_class("classifier", name)
    if onnx_dir is None:
        return cls.load(directory)
    if name != "linear":
        msg = f"--onnx replaces the features of a linear classifier; {directory} holds a {name!r} classifier"
        raise InputError(msg)
    from latentstack import get_embedder

    return cls.load(directory, embedder=get_embedder("onnx", model=onnx_dir))


@classify.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("texts", nargs=-1)
@click.option("--from", "source", type=click.Path(exists=True, dir_okay=False), help="A file with one text per line.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per text, with probabilities.")
@ONNX
def predict(directory: Path, texts: tuple[str, ...], source: str | None, as_json: bool, onnx_dir: str | None) -> None:
    """Label TEXTS (or the lines of --from) with a saved classifier."""
    items = list(texts)
    if source:
        items += [line for line in read_text(source).splitlines() if line.strip()]
    if not items:
        msg = "no texts given: pass them as arguments or with --from FILE"
        raise InputError(msg)
    clf = _load(directory, onnx_dir)
    proba = clf.predict_proba(items)
    labels = clf.predict(items)
    for text, label, row in zip(items, labels, proba, strict=True):
        if as_json:
            click.echo(json.dumps({"text": text, "label": label,
                                   "proba": {c: round(float(p), 4) for c, p in zip(clf.classes, row, strict=True)}}))
        else:
            click.echo(f"{label}\t{float(row.max()):.3f}\t{text}")


@classify.command("eval")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--split", default="test", show_default=True)
@_data_options
@ONNX
def evaluate(directory: Path, data: str, split: str, text_col: str, label_col: str, split_col: str,
             onnx_dir: str | None) -> None:
    """Accuracy, macro-F1 and per-class F1 of a saved classifier on one split."""
    from latentstack.classify.metrics import classification_metrics
    from latentstack.data.labeled import load_labeled

    splits = load_labeled(data, text_col=text_col, label_col=label_col, split_col=split_col)
    if split not in splits:
        msg = f"{data} has no split {split!r} (splits: {', '.join(sorted(splits))})"
        raise InputError(msg)
    clf = _load(directory, onnx_dir)
    part = splits[split]
    unseen = sorted(set(part.labels) - set(clf.classes))
    if unseen:
        msg = f"labels {', '.join(map(repr, unseen))} were not seen in training (classes: {', '.join(clf.classes)})"
        raise InputError(msg)
    click.echo(json.dumps(classification_metrics(part.labels, clf.predict(part.texts), clf.classes), indent=2))
