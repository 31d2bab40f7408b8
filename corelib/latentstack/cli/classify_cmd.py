"""``latentstack classify train/predict/eval``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from latentstack.cli.labeled_options import READING, labeled_options, read_splits, reading_flags
from latentstack.cli.options import given, need_from, parse_options, refuse_given, resume_option
from latentstack.errors import InputError
from latentstack.locks import writer_lock
from latentstack.progress import log
from latentstack.storage import check_replaceable


@click.group()
def classify() -> None:
    """Train text classifiers on language-model features, or fine-tune one."""


@classify.command()
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False), help="TSV, CSV or JSONL.")
@click.option("--split", default="train", show_default=True, help="Which split to train on.")
@click.option("--method", default="linear", show_default=True,
              help="Classifier plugin name (`latentstack plugins` lists them).")
@click.option("-o", "--option", "extra", multiple=True, metavar="KEY=VALUE",
              help="Any option of the classifier's config (repeatable), e.g. -o mode=full.")
@click.option("--embedder", default=None, help="Shortcut for -o embedder=NAME (feature-based classifiers).")
@click.option("--model", default=None, help="Shortcut for -o model=NAME.")
@click.option("--onnx", "onnx_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Shortcut for --embedder onnx --model DIR: features by an ONNX export (latentstack export onnx), "
                   "no torch to import.")
@click.option("--pooling", type=click.Choice(["cls", "mean"]), default=None, help="Shortcut for -o pooling=...")
@click.option("--head", default=None, help="Shortcut for -o head=... (linear: logistic or nb).")
@click.option("--hybrid", is_flag=True, default=None, help="Shortcut for -o hybrid=true.")
@click.option("--fusion", default=None,
              help="Shortcut for -o fusion=... (linear with --hybrid: auto, stack or concat).")
@click.option("--tune-threshold", is_flag=True, default=None, help="Shortcut for -o tune_threshold=true.")
@click.option("--mode", default=None, help="Shortcut for -o mode=... (finetune: lora or full).")
@click.option("--epochs", type=int, default=None, help="Shortcut for -o epochs=N.")
@click.option("--rank", type=int, default=None, help="Shortcut for -o rank=N.")
@click.option("--group-by-length", is_flag=True, default=None, help="Shortcut for -o group_by_length=true.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--wait", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds to wait for another process writing OUT, then fail.")
@click.option("--save-every", default=200, show_default=True, type=click.IntRange(min=0),
              help="A classifier that keeps checkpoints (finetune) also keeps the newest of every N optimiser steps "
                   "in OUT-checkpoints/step-N (0: only at each epoch's end and on a stop).")
@resume_option("data file and options (finetune)")
@labeled_options
def train(data: str, split: str, method: str, extra: tuple[str, ...], seed: int, out: Path, wait: float,
          onnx_dir: str | None, save_every: int, resume: str | None, **shortcuts: Any) -> None:
    """Train a classifier on one split of a labeled file and save it to OUT.

    Every option goes to the chosen classifier's config; one it does not have is an
    error that lists those it has. With --holdout, the held-out rows are scored once the
    classifier is saved, and `classify eval` with the same --holdout and --seed scores them again.
    A classifier that trains for long (finetune) keeps its checkpoints in OUT-checkpoints/:
    the same command with --resume goes on from one as if it had never stopped.
    """
    from latentstack import get_classifier

    reading = {key: shortcuts.pop(key) for key in READING}
    if reading["holdout"] is not None and split != "train":
        raise click.UsageError("--holdout trains on the rows it does not hold out (the 'train' split): leave --split out")
    splits = read_splits(data, [split], seed, **reading)
    if onnx_dir is not None:
        if shortcuts["embedder"] or shortcuts["model"]:
            raise click.UsageError("--onnx DIR names the embedder and its model: drop --embedder and --model")
        shortcuts.update(embedder="onnx", model=onnx_dir)
    clf = get_classifier(method, **given(**shortcuts), **parse_options(extra), seed=seed)
    part = splits[split]
    check_replaceable(out, "classifier")  # refuse a folder of the user's own files before training
    _keep_checkpoints(clf, method, out, resume, save_every)
    clf.fit(part.texts, part.labels)
    with writer_lock(out, wait):
        clf.save(out)
        if reading["holdout"] is not None:  # under the same lock: no other writer's folder between save and record
            from latentstack.classify import holdout

            holdout.record(out, data, reading["holdout"], seed, {name: len(p) for name, p in splits.items()})
    several = "multi-label, " if clf.multi_label else ""
    click.echo(f"trained {method} on {len(part)} texts ({several}{', '.join(map(str, clf.classes))}); saved to {out}")
    _notice_truncated(clf, part.texts, "training texts")
    for key, value in clf.training_report().items():  # what cross-validation chose, and why (silenced by -q)
        log(f"  {key}: {json.dumps(_rounded(value), default=str)}")
    if reading["holdout"] is not None:
        _score_heldout(clf, out, data, seed, splits, reading)


def _keep_checkpoints(clf: Any, method: str, out: Path, resume: str | None, save_every: int) -> None:
    """Have a classifier that trains for long keep its checkpoints beside OUT (and go on from ``resume``)."""
    from latentstack.train_state import resume_point

    if not clf.checkpointed:
        refuse_given(("resume", "save_every"), f"a classifier that keeps checkpoints, and {method} trains in one go: "
                                               "leave {} out")
        return
    clf.keep_checkpoints(out, resume_point(resume, out), save_every)


def _score_heldout(clf: Any, out: Path, data: str, seed: int, splits: dict[str, Any], reading: dict[str, Any]) -> None:
    """Print the classifier's scores on the --holdout rows, and the command that scores them again."""
    import shlex

    from latentstack.classify.metrics import scores

    test = splits["test"]
    got = scores(test.labels, clf.predict(test.texts), clf.classes, clf.multi_label)
    again = ["latentstack", "classify", "eval", str(out), "--data", data, "--seed", str(seed), *reading_flags(reading)]
    first = (f"subset accuracy {got['subset_accuracy']:.4f}, micro-F1 {got['micro_f1']:.4f}" if clf.multi_label
             else f"accuracy {got['accuracy']:.4f}")
    click.echo(f"held out {len(test)} texts: {first}, macro-F1 {got['macro_f1']:.4f} (again: {shlex.join(again)})")


def _notice_truncated(clf: Any, texts: list[str], what: str) -> None:
    cut = clf.count_truncated(texts)
    if cut:
        log(f"{cut} of {len(texts)} {what} are longer than the classifier reads: only their beginnings reach its "
            "features (split long texts, or raise the max_length option where the model allows)")


def _rounded(value: Any) -> Any:
    """``value`` with every float rounded to 4 digits, for a report line."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


EMBEDDER = click.option("--embedder", "emb_name", default=None,
                        help="Compute the features with this embedder instead of the saved one (it must "
                             "reproduce them, e.g. onnx for an export of the same model).")
EMB_OPTIONS = click.option("--embedder-option", "emb_extra", multiple=True, metavar="KEY=VALUE",
                           help="Options of --embedder (repeatable).")
ONNX = click.option("--onnx", "onnx_dir", type=click.Path(exists=True, file_okay=False), default=None,
                    help="Shortcut for --embedder onnx --embedder-option model=DIR.")


def _load(directory: Path, emb_name: str | None, emb_extra: tuple[str, ...], onnx_dir: str | None) -> Any:
    from latentstack import get_embedder, load_classifier

    options = parse_options(emb_extra, "--embedder-option")
    if emb_name is None and onnx_dir is None:
        refuse_given(("emb_extra",), "an --embedder or --onnx given in place of the saved one: add one or leave {} out")
    if onnx_dir is not None:
        emb_name, options = emb_name or "onnx", {"model": onnx_dir, **options}
    return load_classifier(directory, embedder=get_embedder(emb_name, **options) if emb_name else None)


@classify.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("texts", nargs=-1)
@click.option("--from", "source", type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="A file with one text per line (- reads standard input), or a CSV, TSV or JSONL file's text column.")
@click.option("--text-col", default=None, help="The column of the texts in a CSV, TSV or JSONL --from.  [default: text]")
@click.option("--encoding", default=None, help="The --from file's encoding when it is not UTF-8 (e.g. latin1, cp1252): "
              "a UTF-8 file is still read as UTF-8.")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per text, with probabilities (and a table row's other fields).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the predictions to this .csv (the rows labeled: predicted, probability) or .jsonl file.")
@EMBEDDER
@EMB_OPTIONS
@ONNX
def predict(directory: Path, texts: tuple[str, ...], source: str | None, text_col: str | None, encoding: str | None,
            as_json: bool,
            out: Path | None, emb_name: str | None, emb_extra: tuple[str, ...], onnx_dir: str | None) -> None:
    """Label TEXTS (or the lines, or a table's text column, of --from) with a saved classifier."""
    from latentstack.cli import predictions
    from latentstack.interfaces.embedder import check_texts

    if out is not None:
        if as_json:
            raise click.UsageError("--json prints what --out writes: give one of the two")
        predictions.check_out(out, source)
    need_from(source, text_col, encoding)
    batch = predictions.gather(texts, source, text_col, encoding)
    if out is not None and batch.table is not None:
        predictions.check_columns(out, str(source), batch.table)
    items = batch.texts
    if not items:
        msg = "no texts given: pass them as arguments or with --from FILE"
        raise InputError(msg)
    items = check_texts(items)  # before the classifier loads (a command line's bytes may not be UTF-8)
    clf = _load(directory, emb_name, emb_extra, onnx_dir)
    _notice_truncated(clf, items, "texts")
    proba = clf.predict_proba(items)
    rows = predictions.records(items, clf.labels_of(proba), proba, batch.fields, clf.classes)
    if out is not None:
        predictions.write(out, rows, batch.table)
        click.echo(f"wrote {len(rows)} prediction(s) to {out}")
        return
    for row, p in zip(rows, proba, strict=True):
        click.echo(json.dumps(row) if as_json else predictions.line(row, p))


@classify.command("eval")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--split", default="test", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="The seed of --holdout (as given to classify train).")
@labeled_options
@EMBEDDER
@EMB_OPTIONS
@ONNX
def evaluate(directory: Path, data: str, split: str, seed: int, emb_name: str | None, emb_extra: tuple[str, ...],
             onnx_dir: str | None, **reading: Any) -> None:
    """Accuracy, macro-F1 and per-class F1 of a saved classifier on one split (multi-label: subset accuracy,
    micro-, macro- and per-text F1, Hamming loss and per-label F1)."""
    from latentstack.classify import holdout
    from latentstack.classify.metrics import scores

    clf = _load(directory, emb_name, emb_extra, onnx_dir)
    holdout.check(directory, data, reading["holdout"], seed, clf.multi_label)
    if clf.multi_label and reading["label_sep"] is None and reading["label_cols"] is None and not data.endswith(".jsonl"):
        msg = (f"{directory} learned several labels per text: give --label-sep or --label-cols as in training, so "
               f"that {data}'s labels are read as lists")
        raise InputError(msg)
    part = read_splits(data, [split], seed, **reading)[split]
    _check_eval_labels(clf, part.labels, data)
    _notice_truncated(clf, part.texts, "texts")
    click.echo(json.dumps(scores(part.labels, clf.predict(part.texts), clf.classes, clf.multi_label), indent=2))


def _check_eval_labels(clf: Any, labels: list[Any], data: str) -> None:
    """Refuse test labels the classifier never saw, and one label per text for a multi-label one or the reverse."""
    from latentstack.data.labeled import is_multi_label

    if clf.multi_label and not is_multi_label(labels):
        msg = f"{data} gives each text one label, but the classifier learned several per text: give lists of labels"
        raise InputError(msg)
    if is_multi_label(labels) and not clf.multi_label:
        msg = f"{data} gives texts several labels, but the classifier learned one label per text"
        raise InputError(msg)
    seen = {x for row in labels for x in row} if clf.multi_label else set(labels)
    unseen = sorted(seen - set(clf.classes))
    if unseen:
        msg = (f"labels {', '.join(map(repr, unseen))} were not seen in training "
               f"(classes: {', '.join(map(str, clf.classes))})")
        raise InputError(msg)
