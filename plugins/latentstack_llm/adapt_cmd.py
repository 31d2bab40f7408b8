"""``latentstack adapt``: LoRA post-training of the generator (sft; pairs, reward, dpo), SQuAD SFT data, merge."""

from __future__ import annotations

import json
from pathlib import Path

import click

from latentstack.cli.options import resume_option
from latentstack_llm.prefs_cmd import dpo, pairs, reward
from latentstack_llm.sft import SAVE_DTYPES, SftConfig

DEFAULTS = SftConfig()  # the one place SFT defaults are written


@click.group()
def adapt() -> None:
    """Post-train the generator with LoRA adapters, and merge them into plain models."""


@adapt.command()
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False),
              help="JSONL (or one JSON array): {'messages': [...]}, {'prompt', 'completion'}, Alpaca's "
                   "{'instruction', 'input', 'output'} or ShareGPT's {'conversations'} per line, or {'text'} (plain "
                   "text, every token trained on).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Adapter folder.")
@click.option("--model", default="smollm2-135m-instruct", show_default=True)
@click.option("--rank", default=DEFAULTS.rank, show_default=True, type=click.IntRange(min=1))
@click.option("--alpha", default=DEFAULTS.alpha, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--targets", default=",".join(DEFAULTS.targets), show_default=True,
              help="Comma-separated module names, or all-linear: every linear layer but the LM head.")
@click.option("--epochs", default=DEFAULTS.epochs, show_default=True, type=click.IntRange(min=1))
@click.option("--lr", default=DEFAULTS.lr, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--batch-size", default=DEFAULTS.batch_size, show_default=True, type=click.IntRange(min=1))
@click.option("--grad-accum", default=DEFAULTS.grad_accum, show_default=True, type=click.IntRange(min=1), help="Batches per optimiser step.")
@click.option("--dropout", default=DEFAULTS.dropout, show_default=True, type=click.FloatRange(0, 1, max_open=True),
              help="LoRA dropout (0 skips the dropout copies of every input: faster, less memory).")
@click.option("--max-length", default=DEFAULTS.max_length, show_default=True, type=click.IntRange(min=9),
              help="Tokens per example (prompt cut from the left; a plain text cut into rows of this many).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use only the first N examples.")
@click.option("--seed", default=DEFAULTS.seed, show_default=True)
@click.option("--save-dtype", type=click.Choice(SAVE_DTYPES), default=DEFAULTS.save_dtype,
              show_default=True, help="Dtype of the saved adapter weights (bf16: half the bytes; docs/post-training.md).")
@click.option("--init-adapter", default="", type=click.Path(file_okay=False),
              help="Go on training this saved adapter (its rank and targets) instead of a fresh one.")
@click.option("--holdout", default=DEFAULTS.holdout, show_default=True, type=click.FloatRange(0.0, 0.9),
              help="Share of the prompts held out (seeded) and not trained on: the loss on them is shown after each "
                   "epoch, and the epoch where it was lowest named.")
@click.option("--eval-data", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Examples (same forms as --data) not trained on, whose loss is shown after each epoch.")
@click.option("--save-every", default=200, show_default=True, type=click.IntRange(min=0),
              help="Keep the adapter and training state every N optimiser steps in OUT-checkpoints/step-N (the "
                   "newest only; 0: only at each epoch's end and on a stop).")
@resume_option("data")
def sft(data: str, out: Path, model: str, rank: int, alpha: float, targets: str, epochs: int, lr: float,
        batch_size: int, grad_accum: int, dropout: float, max_length: int, limit: int | None, seed: int,
        save_dtype: str, init_adapter: str, holdout: float, eval_data: str | None, save_every: int,
        resume: str | None) -> None:
    """Supervised fine-tuning with a LoRA adapter; loss on the reply tokens only (every token of a plain text).

    Each epoch's adapter, the newest of every --save-every steps, and a stopped run's
    (Ctrl-C, SIGTERM) are kept in OUT-checkpoints/ with their training state: --resume
    goes on from one as if the run had never stopped.
    """
    from latentstack.cli.options import refuse_given
    from latentstack.data.sft import load_sft_texts
    from latentstack.storage import check_replaceable
    from latentstack.train_state import checkpoints_of, resume_point
    from latentstack_llm.checkpoints import resumed_run
    from latentstack_llm.generator import LlmGenerator
    from latentstack_llm.sft import model_bytes, train_sft

    if init_adapter:
        refuse_given(("rank", "alpha", "targets", "dropout"),
                     "a fresh adapter only; --init-adapter goes on training the saved one as it was made: leave {} out")
    check_replaceable(out, "adapter")  # refuse a folder of the user's own files before training
    examples = load_sft_texts(data)[:limit]
    resume = resume_point(resume, out)
    if resume:
        model, config = resumed_run(resume, "sft", SftConfig, (
            "model", "rank", "alpha", "targets", "epochs", "lr", "batch_size", "grad_accum", "dropout", "max_length",
            "seed", "save_dtype", "init_adapter", "holdout"))
    else:
        config = SftConfig(rank=rank, alpha=alpha, targets=targets,
                           epochs=epochs, lr=lr, batch_size=batch_size, grad_accum=grad_accum, dropout=dropout,
                           max_length=max_length, seed=seed, save_dtype=save_dtype, init_adapter=init_adapter,
                           holdout=holdout)
    held = load_sft_texts(eval_data) if eval_data else []
    gen = LlmGenerator.from_options(model=model)
    report = train_sft(gen, examples, out, config, resume=resume, save_every=save_every, eval_examples=held)
    share = report["adapter_bytes"] / model_bytes(gen)
    click.echo(f"adapter saved to {out}: {report['trainable_params']:,} of {report['total_params']:,} parameters "
               f"trained ({report['trainable_params'] / report['total_params']:.2%}), "
               f"{report['adapter_bytes']:,} bytes ({share:.2%} of the model's weights), {report['train_s']} s")
    if "best_epoch" in report:
        losses = ", ".join(f"{h['eval_loss']:.4f}" for h in report["history"])
        best = report["best_epoch"]
        click.echo(f"held-out loss by epoch ({report['eval_examples']} examples not trained on): {losses}; lowest "
                   f"after epoch {best} ({checkpoints_of(out) / f'epoch-{best}'})")


@adapt.command("squad-data")
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False), help="SQuAD v1.1 JSON.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="JSONL to write.")
@click.option("--half", type=click.Choice(["tune", "heldout"]), default="tune", show_default=True,
              help="Which half of the articles to draw from (evaluate on the other).")
@click.option("--limit", default=400, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True)
@click.option("--answer", type=click.Choice(["first", "shortest"]), default="shortest", show_default=True,
              help="Which gold answer is the reply.")
def squad_data(data: str, out: Path, half: str, limit: int, seed: int, answer: str) -> None:
    """Write SFT examples (RAG prompt -> 'answer [n]') from one half of a SQuAD file's articles."""
    from latentstack.atomic import atomic_file
    from latentstack.data.squad import load_squad
    from latentstack.data.squad_sft import squad_sft_examples
    from latentstack.outfile import check_out_file, jsonl_with

    check_out_file(out, "SFT examples (JSONL with messages)", jsonl_with({"messages"}), inputs=[data])
    rows = squad_sft_examples(load_squad(data), half=half, limit=limit, seed=seed, answer=answer)
    with atomic_file(out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for messages in rows:
            fh.write(json.dumps({"messages": messages}) + "\n")
    click.echo(f"wrote {len(rows)} examples from the {half} half of the articles to {out}")


@adapt.command()
@click.argument("adapter", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Plain model folder.")
@click.option("--model", default="smollm2-135m-instruct", show_default=True)
def merge(adapter: str, out: Path, model: str) -> None:
    """Fold ADAPTER into the base model's weights and save a plain model folder (usable as --model OUT)."""
    from latentstack.storage import component_dir, write_manifest
    from latentstack_llm.generator import LlmGenerator

    gen = LlmGenerator.from_options(model=model, adapter=adapter)
    merged = gen.model.merge_and_unload()
    with component_dir(out, "model") as tmp:
        merged.save_pretrained(tmp)
        gen.tokenizer.save_pretrained(tmp)
        write_manifest(tmp, kind="model", plugin="llm", data={"base": model, "adapter": str(adapter)})
    click.echo(f"merged {adapter} into {model}; plain model folder at {out}")


adapt.add_command(pairs)
adapt.add_command(reward)
adapt.add_command(dpo)
