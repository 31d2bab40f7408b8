"""``latentstack bench sft``: peak memory and step time of LoRA vs full fine-tuning of the generator.

Each mode trains a few optimiser steps on the same SFT examples in its own fresh
process (so each peak resident set size is that mode's alone). ``lora+mmap`` and
``full+mmap`` run the same with glibc's mmap threshold fixed at 128 KiB
(``MALLOC_MMAP_THRESHOLD_``): every block above it is mapped and handed back to the system
when freed, so the peak counts what the mode holds rather than what glibc's heap kept
(LoRA's many short-lived temporaries fragment the heap more; see the README's SFT memory).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click

from latentstack.bench.options import bench_options, split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult
from latentstack.bench.writers import timing_chart
from latentstack.errors import LatentstackError
from latentstack.progress import log

METHODS = ["lora", "full", "lora+mmap", "full+mmap"]
MMAP_THRESHOLD = 131072


@click.command("sft")
@bench_options("lora,full")
@click.option("--steps", default=3, show_default=True, type=click.IntRange(min=1), help="Optimiser steps per mode.")
@click.option("--batch-size", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--model", default="smollm2-135m-instruct", show_default=True)
@suite
def sft(data: str, methods: str, limit: int | None, seed: int, steps: int, batch_size: int, model: str) -> BenchReport:
    """Peak RSS, seconds per step and trainable parameters of LoRA and full SFT (JSONL data)."""
    chosen = split_methods(methods, METHODS)
    report = BenchReport("sft", Path(data).name, steps * batch_size,
                         params={"model": model, "steps": steps, "batch_size": batch_size, "optimizer": "AdamW",
                                 "+mmap": f"MALLOC_MMAP_THRESHOLD_={MMAP_THRESHOLD}"})
    report.chart = timing_chart("peak_rss_mb", "peak resident memory (MiB)")
    for method in chosen:
        mode, _, malloc = method.partition("+")
        env = {k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"}
        if malloc:
            env["MALLOC_MMAP_THRESHOLD_"] = str(MMAP_THRESHOLD)
        log(f"bench sft: {method}, {steps} steps in a fresh process")
        proc = subprocess.run([sys.executable, "-m", "latentstack_llm.sft_probe", "--data", data, "--mode", mode,
                               "--steps", str(steps), "--model", model, "--batch-size", str(batch_size)],
                              capture_output=True, text=True, check=False, env=env)
        if proc.returncode != 0:
            last = proc.stderr.strip().splitlines()[-1:]
            msg = f"the {method} probe failed: {last[0] if last else proc.returncode}"
            raise LatentstackError(msg)
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        timing = {k: round(row[k], 2) for k in ("s_per_step", "peak_rss_mb", "rss_after_load_mb")}
        timing["trainable_params"] = row["trainable_params"]
        timing["trainable_share"] = round(row["trainable_params"] / row["total_params"], 5)
        timing["malloc_mmap_threshold"] = row["malloc_mmap_threshold"]  # as the probe process saw it; 0: glibc's
        report.results.append(MethodResult(method, {}, timing))
    return report
