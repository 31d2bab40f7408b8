"""Run a few SFT steps in this process and print one JSON line: peak memory, time per step, parameters.

Used by ``latentstack bench sft`` in a fresh subprocess per mode, so that each peak
resident set size belongs to one mode alone: ``python -m latentstack_llm.sft_probe
--data FILE --mode lora|full --steps N``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from typing import Any


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Parse arguments, train ``--steps`` optimiser steps, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--mode", choices=["lora", "full"], required=True)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args()

    from latentstack.data.sft import load_sft
    from latentstack.progress import set_quiet
    from latentstack_llm.generator import LlmGenerator
    from latentstack_llm.sft import SftConfig, train_sft

    set_quiet(True)
    gen = LlmGenerator.from_options(model=args.model)
    gen.model  # noqa: B018 - load before measuring the baseline
    loaded = peak_rss_mb()
    examples = load_sft(args.data)[: args.steps * args.batch_size]
    full: dict[str, Any] = {"lr": 1e-5} if args.mode == "full" else {}  # all weights take a smaller step; LoRA keeps SftConfig's
    config = SftConfig(mode=args.mode, batch_size=args.batch_size, grad_accum=1, **full)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="latentstack-sft-probe-") as out:
        report = train_sft(gen, examples, out, config, max_steps=args.steps)
        took = time.perf_counter() - start
    print(json.dumps({"mode": args.mode, "steps": args.steps, "s_per_step": took / args.steps,
                      "peak_rss_mb": peak_rss_mb(), "rss_after_load_mb": loaded,
                      "trainable_params": report["trainable_params"], "total_params": report["total_params"],
                      "malloc_mmap_threshold": int(os.environ.get("MALLOC_MMAP_THRESHOLD_", "0"))}))


if __name__ == "__main__":
    main()
