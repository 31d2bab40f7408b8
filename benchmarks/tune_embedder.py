"""Fine-tuning MiniLM on in-domain (question, paragraph) pairs (`latentstack adapt embedder`), then searching
questions of other articles: dense and hybrid retrieval with the base and the tuned model, side by side.

The pairs are PAIRS questions of the SQuAD file's "tune" half (even articles; `--half tune`), each with the
paragraph it was asked about; the retrieval is `latentstack bench retrieval --half heldout` (odd articles' questions,
every paragraph of the file searched), run for the base model and for the tuned folder in turn. Pairs whose
paragraph comes again are kept (several questions per paragraph): the batches hold no text twice.

    python benchmarks/tune_embedder.py ../shared/data/squad-dev-v1.1.json OUT_DIR [PAIRS] [EPOCHS] [NEGATIVES]
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from latentstack.bench.report import environment
from latentstack.data.squad import load_squad


def write_pairs(squad: str, n: int, out: Path) -> int:
    """``n`` seeded questions of the tune half with their paragraphs, as {"anchor", "positive"} lines."""
    data = load_squad(squad)
    text = {p.id: p.text for p in data.paragraphs}
    questions = data.sample(None, 0, "tune")
    random.Random(0).shuffle(questions)
    rows = [{"anchor": q.text, "positive": text[q.paragraph]} for q in questions[:n]]
    out.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return len(rows)


def run(*args: str) -> tuple[str, float, float]:
    """``latentstack ARGS`` in a child process: its stdout, seconds, and peak resident memory (GiB) of the children."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "latentstack", "-q", *args], capture_output=True, text=True,
                          check=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return done.stdout, time.perf_counter() - start, peak


def retrieval(squad: str, model: str, out: Path) -> dict[str, Any]:
    """bench retrieval's dense and hybrid rows on the held-out half for ``model``."""
    stdout, _, _ = run("bench", "retrieval", "--data", squad, "--half", "heldout", "--methods", "dense,hybrid",
                       "--model", model, "--json", "--out", str(out))
    return {row["method"]: row["metrics"] for row in json.loads(stdout)["results"]}


def main(squad: str, out_dir: str, n: int = 3000, epochs: int = 1, negatives: int = 0) -> None:
    """Tune, then search the held-out half with both models; print and save the figures."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pairs = write_pairs(squad, n, out / "pairs.jsonl")
    stdout, seconds, peak = run("adapt", "embedder", str(out / "pairs.jsonl"), "--out", str(out / "model"),
                                "--epochs", str(epochs), "--mine-negatives", str(negatives))
    report = json.loads((out / "model" / "manifest.json").read_text())["data"]
    rows = {"base (minilm)": retrieval(squad, "minilm", out / "base"),
            "tuned": retrieval(squad, str(out / "model"), out / "tuned")}
    result = {"command": f"python benchmarks/tune_embedder.py SQUAD OUT {n} {epochs} {negatives}",
              "env": environment(), "pairs": pairs, "epochs": epochs, "mined_negatives": negatives, "tune_s": round(seconds, 1), "tune_peak_rss_gib": round(peak, 2),
              "train_report": report, "said": stdout.strip(), "heldout_retrieval": rows}
    (out / "tune-embedder.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"tuned on {pairs} pairs in {seconds:.0f} s (peak {peak:.1f} GiB); held-out pairs: {report.get('held_out')}")
    for name, methods in rows.items():
        for method, metrics in methods.items():
            print(name, method, {k: round(v, 4) for k, v in metrics.items() if isinstance(v, float)})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6]))
