"""Paired bootstrap gain of one method over another on a slice of a `bench rag --answers` file.

A confirmation run evaluates an adapter chosen on the first questions of a held-out sample
on a longer sample of the same seed (`--limit` takes a prefix of the same seeded draw), so
the questions after the first `--skip` were never looked at when the adapter was chosen:

    python benchmarks/paired_gain.py answers.jsonl --base rag+squad-lora --method rag+rpo-b0.03 \
        --skip 200 --out benchmarks/results/rag-prefs/confirm/gain.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from latentstack.atomic import atomic_file
from latentstack.bench.stats import paired_gain_by_id

METRICS = ("f1", "exact_match", "cites_gold", "answer_words")


def load(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Per method, per question id (in file order), the answer's row."""
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        rows.setdefault(row["method"], {})[row["question_id"]] = row
    return rows


def gains(rows: dict[str, dict[str, dict[str, Any]]], base: str, method: str, skip: int) -> dict[str, object]:
    """Means of both methods and the paired gain [95% CI] of each metric, on the questions after the first ``skip``."""
    for name in (base, method):
        if name not in rows:
            raise SystemExit(f"no method {name!r} in the answers; there are: {', '.join(rows)}")
    ids = list(rows[base])[skip:]
    out: dict[str, object] = {"base": base, "method": method, "skip": skip, "questions": len(ids)}
    for metric in METRICS:
        a = {i: float(rows[method][i][metric]) for i in ids}
        b = {i: float(rows[base][i][metric]) for i in ids}
        mean, lo, hi = paired_gain_by_id(a, b)  # bench rag's own bootstrap, items in the same order
        out[metric] = {"base": round(sum(b.values()) / len(b), 4), "method": round(sum(a.values()) / len(a), 4),
                       "gain": round(mean, 4), "lo": round(lo, 4), "hi": round(hi, 4)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answers", type=Path)
    parser.add_argument("--base", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--skip", type=int, default=0, help="Leave out the first questions (those used to choose).")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = gains(load(args.answers), args.base, args.method, args.skip)
    text = json.dumps(result, indent=2)
    sys.stdout.write(text + "\n")
    if args.out:
        with atomic_file(args.out) as tmp:
            tmp.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
