"""What share of a fine-tuning step the optimiser's own step takes: where a stop (Ctrl-C, SIGTERM) used to land
between the weights' update and the position's, so a resumed run took the step twice. ``classify train``'s finetune
classifier on SMS texts (MiniLM, LoRA and full), timed by torch's global optimiser step hooks.

    python benchmarks/stop_window.py benchmarks/data/sms-spam.tsv OUT.json [TEXTS]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

from latentstack.bench.report import environment
from latentstack_bench.classify import load_split
from latentstack_finetune.classifier import FinetuneClassifier


def shares(mode: str, texts: list[str], labels: list[str]) -> dict[str, Any]:
    """Median seconds of a whole step (post-hook to post-hook) and of opt.step() alone (pre- to post-hook)."""
    marks: list[tuple[str, float]] = []
    pre = register_optimizer_step_pre_hook(lambda *_: marks.append(("pre", time.perf_counter())))
    post = register_optimizer_step_post_hook(lambda *_: marks.append(("post", time.perf_counter())))
    try:
        FinetuneClassifier.from_options(mode=mode, epochs=1, batch_size=16, val_fraction=0).fit(texts, labels)
    finally:
        pre.remove()
        post.remove()
    ends = [t for kind, t in marks if kind == "post"]
    steps = [b - a for a, b in zip(ends, ends[1:])]
    updates = [b[1] - a[1] for a, b in zip(marks, marks[1:]) if a[0] == "pre" and b[0] == "post"][1:]
    return {"steps": len(ends), "step_s": round(statistics.median(steps), 4),
            "optimizer_step_s": round(statistics.median(updates), 4),
            "share": round(statistics.median(u / s for u, s in zip(updates, steps)), 4)}


def main() -> None:
    data, out = sys.argv[1], Path(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 320
    train, _ = load_split(data, n, 0)
    result = {"env": environment(), "texts": n, "batch_size": 16,
              "modes": {mode: shares(mode, train.texts, train.labels) for mode in ("lora", "full")}}
    print(json.dumps(result["modes"], indent=2))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
