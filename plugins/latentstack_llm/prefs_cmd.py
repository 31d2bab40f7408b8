"""``latentstack adapt pairs | reward | dpo``: preference data, a reward model, and DPO on a LoRA adapter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from latentstack.cli.options import resume_option
from latentstack_llm.dpo import DpoConfig
from latentstack_llm.dpo_loss import LOSSES
from latentstack_llm.pairs import SampleConfig
from latentstack_llm.sft import SAVE_DTYPES

SAMPLING = SampleConfig()


@click.command()
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False),
              help="SQuAD JSON (prompts from its tune half) or SFT JSONL (RAG prompt -> 'answer [n]').")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Pairs JSONL to write.")
@click.option("--adapter", default="", help="The policy's LoRA adapter (the SFT adapter); none: the base model.")
@click.option("--model", default="smollm2-135m-instruct", show_default=True)
@click.option("--samples", "k", default=SAMPLING.samples, show_default=True, type=click.IntRange(min=2),
              help="Answers sampled per prompt.")
@click.option("--temperature", default=SAMPLING.temperature, show_default=True, type=click.FloatRange(min=0.01))
@click.option("--top-p", default=SAMPLING.top_p, show_default=True, type=click.FloatRange(0.01, 1.0))
@click.option("--top-k", default=SAMPLING.top_k, show_default=True, type=click.IntRange(min=0),
              help="Sample from the K likeliest (0: all).")
@click.option("--min-p", default=SAMPLING.min_p, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="Sample from tokens at least this share as likely as the likeliest (0: all).")
@click.option("--repetition-penalty", default=SAMPLING.repetition_penalty, show_default=True,
              type=click.FloatRange(min=0, min_open=True), help="Above 1, tokens already in the prompt or answer "
              "are less likely (transformers' rule).")
@click.option("--max-new-tokens", default=SAMPLING.max_new_tokens, show_default=True, type=click.IntRange(min=1))
@click.option("--limit", default=400, show_default=True, type=click.IntRange(min=1), help="Prompts to sample.")
@click.option("--seed", default=0, show_default=True)
@click.option("--judge", default="squad", show_default=True,
              help="'squad' (answer F1 + citing the gold passage) or a reward model folder (adapt reward).")
@click.option("--cite-weight", default=0.5, show_default=True, type=click.FloatRange(min=0),
              help="What citing the gold passage adds to the squad judge's F1.")
@click.option("--greedy/--no-greedy", default=False, show_default=True,
              help="Add the policy's greedy answer to the samples; it wins ties, so a wrong one is rejected.")
def pairs(data: str, out: Path, adapter: str, model: str, k: int, temperature: float, top_p: float, top_k: int,
          min_p: float, repetition_penalty: float, max_new_tokens: int, limit: int, seed: int, judge: str,
          cite_weight: float, greedy: bool) -> None:
    """Sample K answers per prompt from the policy, judge them, write best/worst pairs in TRL's format."""
    from latentstack.atomic import atomic_file
    from latentstack.cli.options import refuse_given
    from latentstack.outfile import check_out_file, jsonl_with
    from latentstack_llm.generator import LlmGenerator
    from latentstack_llm.pairs import build_pairs, load_items, reward_judge, squad_judge

    check_out_file(out, "preference pairs (JSONL with prompt, chosen, rejected)", jsonl_with({"prompt", "chosen", "rejected"}),
                   inputs=[data])
    if judge != "squad":
        refuse_given(("cite_weight",), "the squad judge only (a reward model scores replies itself): leave {} out")
    items = load_items(data, limit=limit, seed=seed)
    scorer = squad_judge(cite_weight) if judge == "squad" else reward_judge(judge)
    config = SampleConfig(samples=k, temperature=temperature, top_p=top_p, top_k=top_k, min_p=min_p,
                          repetition_penalty=repetition_penalty, max_new_tokens=max_new_tokens, seed=seed,
                          greedy=greedy)
    gen = LlmGenerator.from_options(model=model, adapter=adapter)
    built = build_pairs(gen, items, scorer, config)
    sampling = {"samples": k, "temperature": temperature, "top_p": top_p, "top_k": top_k, "min_p": min_p,
                "repetition_penalty": repetition_penalty, "seed": seed, "judge": judge, "greedy": greedy,
                "policy": gen.fingerprint()}
    with atomic_file(out) as tmp:
        tmp.write_text("".join(json.dumps({**row, "sampling": sampling}) + "\n" for row in built["rows"]),
                       encoding="utf-8")
    click.echo(f"wrote {len(built['rows'])} pairs from {built['prompts']} prompts to {out} "
               f"({built['seconds']} s; mean best-worst score gap {built['mean_spread']})")


@click.command()
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Pairs as JSON lines or one JSON array (adapt pairs; TRL's or LLaMA-Factory's forms).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Reward model folder.")
@click.option("--embedder", default="bert", show_default=True, help="The registered embedder of the features.")
@click.option("-e", "--embedder-option", "emb_extra", multiple=True, metavar="KEY=VALUE",
              help="An option of the embedder's config (repeatable), e.g. -e model=minilm.")
@click.option("--heldout", default=0.2, show_default=True, type=click.FloatRange(0.0, 0.9),
              help="Share of prompts whose pairs are held out to report pair accuracy.")
@click.option("--seed", default=0, show_default=True)
def reward(data: str, out: Path, embedder: str, emb_extra: tuple[str, ...], heldout: float, seed: int) -> None:
    """Fit a Bradley-Terry reward model on embedder features; report pair accuracy on held-out pairs."""
    from latentstack.cli.options import parse_options
    from latentstack.data.prefs import load_pairs, split_pairs
    from latentstack.rewards import MIN_PAIRS, RewardModel
    from latentstack.storage import check_replaceable

    check_replaceable(out, "reward")
    train, held = split_pairs(load_pairs(data), heldout, seed)
    if held and len(train) < MIN_PAIRS:
        msg = (f"{len(train)} of the {len(train) + len(held)} pairs are left to fit once the pairs of the held-out "
               f"prompts are set aside (--heldout {heldout}); a reward model needs at least {MIN_PAIRS}: add pairs "
               "or lower --heldout")
        raise click.UsageError(msg)
    model = RewardModel.fit(train, embedder=embedder, embedder_options=parse_options(emb_extra), seed=seed)
    if held:
        model.report["heldout_pairs"] = len(held)
        model.report["heldout_pair_accuracy"] = round(model.pair_accuracy(held), 4)
    model.save(out)
    click.echo(f"reward model saved to {out}: {json.dumps(model.report)}")


DPO = DpoConfig()


@click.command()
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Pairs as JSON lines or one JSON array (adapt pairs; TRL's or LLaMA-Factory's forms).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Adapter folder.")
@click.option("--init-adapter", default="", type=click.Path(file_okay=False),
              help="Start from this adapter (the SFT adapter), which is also the reference; none: a fresh adapter.")
@click.option("--reference-adapter", default="", type=click.Path(file_okay=False),
              help="The reference policy when it is not the starting one (resuming from a DPO checkpoint); "
                   "'base': the base model (./base for a folder so named).")
@click.option("--model", default="smollm2-135m-instruct", show_default=True)
@click.option("--beta", default=DPO.beta, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="The KL leash: larger keeps the policy nearer the reference.")
@click.option("--loss", type=click.Choice(LOSSES), default=DPO.loss, show_default=True)
@click.option("--sft-weight", default=DPO.sft_weight, show_default=True, type=click.FloatRange(min=0),
              help="Weight of the chosen replies' negative log-likelihood added to the preference loss "
                   "(TRL's 'sft' loss type, RPO); 0: preference loss alone.")
@click.option("--min-chosen-score", type=float, default=None,
              help="Train only on pairs whose chosen reply the judge scored at least this (score_chosen).")
@click.option("--epochs", default=DPO.epochs, show_default=True, type=click.IntRange(min=1))
@click.option("--steps", default=DPO.steps, show_default=True, type=click.IntRange(min=0),
              help="Optimiser steps (0: every batch of every epoch).")
@click.option("--lr", default=DPO.lr, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--batch-size", default=DPO.batch_size, show_default=True, type=click.IntRange(min=1),
              help="Pairs per step.")
@click.option("--rank", default=DPO.rank, show_default=True, type=click.IntRange(min=1), help="A fresh adapter's rank.")
@click.option("--heldout", default=DPO.heldout, show_default=True, type=click.FloatRange(0.0, 0.9),
              help="Share of prompts held out for the eval_ metrics and the KL estimate.")
@click.option("--log-every", default=DPO.log_every, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=DPO.seed, show_default=True)
@click.option("--save-dtype", type=click.Choice(SAVE_DTYPES), default=DPO.save_dtype, show_default=True)
@click.option("--save-every", default=200, show_default=True, type=click.IntRange(min=0),
              help="Keep the adapter and training state every N steps in OUT-checkpoints/step-N (the newest only; "
                   "0: only at each epoch's end and on a stop).")
@resume_option("data")
def dpo(data: str, out: Path, init_adapter: str, reference_adapter: str, model: str, beta: float, loss: str,
        sft_weight: float, min_chosen_score: float | None, epochs: int, steps: int, lr: float, batch_size: int,
        rank: int, heldout: float, log_every: int, seed: int, save_dtype: str, save_every: int,
        resume: str | None) -> None:
    """Direct preference optimisation of a LoRA adapter against the frozen starting policy.

    Each epoch's adapter, the newest of every --save-every steps, and a stopped run's
    (Ctrl-C, SIGTERM) are kept in OUT-checkpoints/ with their training state: --resume
    goes on from one as if the run had never stopped.
    """
    from latentstack.cli.options import refuse_given
    from latentstack.data.prefs import load_pairs
    from latentstack.storage import check_replaceable
    from latentstack.train_state import resume_point
    from latentstack_llm.checkpoints import resumed_run
    from latentstack_llm.dpo import train_dpo
    from latentstack_llm.generator import LlmGenerator

    if init_adapter:
        refuse_given(("rank",), "a fresh adapter only; --init-adapter starts from the saved one as it was made: "
                     "leave {} out")
    check_replaceable(out, "adapter")
    pairs = load_pairs(data, min_chosen_score)
    resume = resume_point(resume, out)
    if resume:
        model, config = resumed_run(resume, "dpo", DpoConfig, (
            "init_adapter", "reference_adapter", "model", "beta", "loss", "sft_weight", "epochs", "steps", "lr",
            "batch_size", "rank", "heldout", "log_every", "seed", "save_dtype"))
    else:
        config = DpoConfig(beta=beta, loss=loss, sft_weight=sft_weight, init_adapter=init_adapter,
                           reference_adapter=reference_adapter, rank=rank, alpha=2.0 * rank, epochs=epochs, steps=steps,
                           lr=lr, batch_size=batch_size, heldout=heldout, log_every=log_every, seed=seed,
                           save_dtype=save_dtype)
    source = {"path": str(data), "pairs": len(pairs), "min_chosen_score": min_chosen_score}
    report = train_dpo(LlmGenerator.from_options(model=model), pairs, out, config, source, resume=resume,
                       save_every=save_every)
    click.echo(f"adapter saved to {out}: {_summary(report)}")


def _summary(report: dict[str, Any]) -> str:
    """Steps, pairs and time; the last logged training loss and margin; the held-out metrics apart from them."""
    final = report["final"]
    held = ", ".join(f"{k} {v}" for k, v in final.items() if k.startswith("eval_") or k == "kl")
    steps = f"{report['steps']} step{'s' * (report['steps'] != 1)}"
    trained = f"; last training loss {final['loss']}, margin {final['rewards/margins']}" if "loss" in final else ""
    return f"{steps} on {report['pairs']} pairs in {report['train_s']} s{trained}; held-out: {held or 'none held out'}"
