"""Wall time and imports of a cold CLI ``search`` on a torch-built MiniLM index: queries by torch against by the
index model's ONNX export (``search --onnx``), each in a fresh process, the two in turn.

    python benchmarks/cold_search.py --out benchmarks/results/cold-search [--runs 5]

Builds the demo docs' index (bert, MiniLM) and a MiniLM ONNX export (fp32 and int8) in a
scratch folder, then runs the same query both ways, alternating, with ``python -X
importtime``; writes cold-search.json and cold-search.md. Each row also says whether its
hits came back in the torch row's order.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from cold_ask import DOCS, cli, in_turn, write_report

QUERY = "why does a loaf of bread get bigger"


def prepare(scratch: Path) -> dict[str, list[str]]:
    """The index and the export; the search arguments of each method."""
    cli("export", "onnx", "--model", "minilm", "--int8", "--out", str(scratch / "minilm-onnx"))
    cli("index", "build", str(scratch / "idx"), "--from", str(DOCS))
    plain = [str(scratch / "idx"), QUERY, "--json"]
    return {"torch (the index's bert embedder)": plain,
            "onnx export (--onnx, variant auto)": [*plain, "--onnx", str(scratch / "minilm-onnx")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from latentstack.bench.report import environment

    with tempfile.TemporaryDirectory(prefix="cold-search-") as scratch:
        results, last = in_turn("search", prepare(Path(scratch)), args.runs)
    hits = {m: [h["doc_id"] for h in json.loads(done.stdout)["hits"]] for m, done in last.items()}
    first = next(iter(hits.values()))
    for method, found in hits.items():
        results[method] |= {"hits": found, "same_hits_as_torch": found == first}
    body = {"query": QUERY, "runs": args.runs, "results": results, "environment": environment()}
    write_report(args.out, "cold-search", body,
                 f"Cold `latentstack search` ({args.runs} fresh processes each, in turn; demo docs, a MiniLM index)",
                 ["queries embedded by", "median wall s", "range", "imports torch", "imports transformers", "same hits"],
                 [[m, r["wall_s_median"], f"{min(r['wall_s'])}-{max(r['wall_s'])}", r["imports_torch"],
                   r["imports_transformers"], r["same_hits_as_torch"]] for m, r in results.items()],
                 f"python benchmarks/cold_search.py --out {args.out} --runs {args.runs}")
    print(json.dumps(results, indent=1))  # noqa: T201 - a script reporting its figures


if __name__ == "__main__":
    main()
