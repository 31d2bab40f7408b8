"""``latentstack bench sft``: peak memory and step time of LoRA vs full fine-tuning of the generator.

Each mode trains a few optimiser steps on the same SFT examples in its own fresh
process (so each peak resident set size is that mode's alone).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click

from latentstack.bench.cli import bench, bench_options, split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult
from latentstack.bench.writers import timing_chart
from latentstack.errors import LatentstackError
from latentstack.progress import log

METHODS = ["lora", "full"]


@bench.command("sft")
@bench_options("lora,full")
@click.option("--steps", default=3, show_default=True, help="Optimiser steps per mode.")
@click.option("--batch-size", default=4, show_default=True)
@click.option("--model", default="smollm2-135m-instruct", show_default=True)
@suite
def sft(data: str, methods: str, limit: int | None, seed: int, steps: int, batch_size: int, model: str) -> BenchReport:
    """Peak RSS, seconds per step and trainable parameters of LoRA and full SFT (JSONL data)."""
    chosen = split_methods(methods, METHODS)
    report = BenchReport("sft", Path(data).name, steps * batch_size,
                         params={"model": model, "steps": steps, "batch_size": batch_size, "optimizer": "AdamW"})
    report.chart = timing_chart("peak_rss_mb", "peak resident memory (MiB)")
    for mode in chosen:
        log(f"bench sft: {mode}, {steps} steps in a fresh process")
        proc = subprocess.run([sys.executable, "-m", "latentstack_llm.sft_probe", "--data", data, "--mode", mode,
                               "--steps", str(steps), "--model", model, "--batch-size", str(batch_size)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            msg = f"the {mode} probe failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}"
            raise LatentstackError(msg)
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        timing = {k: round(row[k], 2) for k in ("s_per_step", "peak_rss_mb", "rss_after_load_mb")}
        timing["trainable_params"] = row["trainable_params"]
        timing["trainable_share"] = round(row["trainable_params"] / row["total_params"], 5)
        report.results.append(MethodResult(mode, {}, timing))
    return report
