"""``latentstack adapt embedder``: fine-tune an encoder on text pairs and save it as a model folder."""

from __future__ import annotations

import json
from pathlib import Path

import click

from latentstack.cli.options import resume_option
from latentstack.pooling import POOLINGS
from latentstack_bert.tune import TuneConfig

DEFAULTS = TuneConfig()


@click.command()
@click.argument("pairs", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The tuned model folder (then --model DIR wherever a model is named).")
@click.option("--model", default=DEFAULTS.model, show_default=True, help="The model to start from (name or folder).")
@click.option("--pooling", type=click.Choice(["auto", *POOLINGS]), default=DEFAULTS.pooling, show_default=True,
              help="auto: the model folder's own, else mean; the tuned folder records the one trained with.")
@click.option("--max-length", type=click.IntRange(min=2), default=None,
              help="Tokens read of each text (default: the model folder's own, else 256).")
@click.option("--epochs", default=DEFAULTS.epochs, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=DEFAULTS.batch_size, show_default=True, type=click.IntRange(min=2),
              help="Pairs per step: each anchor is told from the other pairs' positives too, so more is harder.")
@click.option("--lr", default=DEFAULTS.lr, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--mine-negatives", "negatives", default=DEFAULTS.negatives, show_default=True,
              type=click.IntRange(min=0),
              help="Hard negatives per pair, mined by the model before training: the texts it ranks highest for the "
                   "anchor that are not its positives (those scored within 5%% of the positive left out).")
@click.option("--holdout", default=0.1, show_default=True, type=click.FloatRange(0.0, 0.5),
              help="Share of the anchors set aside and searched for before and after training (0: none).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use only the first N pairs.")
@click.option("--seed", default=DEFAULTS.seed, show_default=True)
@click.option("--save-every", default=200, show_default=True, type=click.IntRange(min=0),
              help="Keep the model and training state every N steps in OUT-checkpoints/step-N (the newest only; 0: "
                   "only on a stop).")
@resume_option("pairs")
def embedder(pairs: str, out: Path, model: str, pooling: str, max_length: int | None, epochs: int, batch_size: int,
             lr: float, negatives: int, holdout: float, limit: int | None, seed: int, save_every: int,
             resume: str | None) -> None:
    """Fine-tune the embedder on (query, passage) pairs; saves a model folder.

    PAIRS: JSONL of {"anchor", "positive"} (a query and a text it should find; a "negative" optional),
    FlagEmbedding's {"query", "pos": [...], "neg": [...]}, or a CSV/TSV with anchor and positive columns. Each
    anchor learns to lie nearer its positive than every other text of its batch. The newest model of every
    --save-every steps and a stopped run's (Ctrl-C, SIGTERM) are kept in OUT-checkpoints/ with their training
    state: --resume goes on from one as if the run had never stopped."""
    from latentstack.data.text_pairs import load_text_pairs
    from latentstack.storage import check_replaceable
    from latentstack.train_state import resume_point
    from latentstack_bert.tune import tune_embedder

    check_replaceable(out, "model")  # refuse a folder of the user's own files before training
    resume = resume_point(resume, out)
    if resume:
        config, holdout = _resumed(resume)
    else:
        config = TuneConfig(model=model, pooling=pooling, max_length=max_length, epochs=epochs, batch_size=batch_size,
                            lr=lr, negatives=negatives, seed=seed)
    report = tune_embedder(load_text_pairs(pairs)[:limit], out, config, holdout, resume=resume, save_every=save_every)
    click.echo(f"tuned model saved to {out} (use it with --model {out}): {_summary(report)}")


def _resumed(checkpoint: str) -> tuple[TuneConfig, float]:
    """The settings of the tuning run that saved ``checkpoint``; options that would change them are refused."""
    from latentstack.train_state import resumed_position

    saved = resumed_position(checkpoint, "embedder", ("model", "pooling", "max_length", "epochs", "batch_size", "lr",
                                                      "negatives", "holdout", "seed"))
    try:
        return TuneConfig(**saved["config"]), float(saved["holdout"])
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"the training state in {checkpoint} is damaged ({exc}); start afresh from its weights with --model"
        raise click.UsageError(msg) from exc


def _summary(report: dict[str, object]) -> str:
    """Pairs, steps and time, then the held-out search before and after."""
    steps, pairs = report["steps"], report["pairs"]
    done = f"{steps} step{'s' * (steps != 1)} on {pairs} pair{'s' * (pairs != 1)} in {report['train_s']} s"
    held = report.get("held_out")
    if not isinstance(held, dict):
        return f"{done}; none held out"
    return (f"{done}; {held['anchors']} held-out anchors among {held['texts']} texts: "
            f"before {json.dumps(held['before'])}, after {json.dumps(held['after'])}")
