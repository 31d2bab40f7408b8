"""How many vectors a scalar quantiser must learn its ranges from: recall@10 against exact search by training size.

The vectors are coded_index_squad.py's (MiniLM, SQuAD dev paragraphs and questions; 1,000 held-out questions as
queries). Each quantiser is trained on the first N of a seeded shuffle of the base, then holds the whole base.

    python benchmarks/sq_train_size.py ../shared/data/squad-dev-v1.1.json benchmarks/results/coded-index
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import faiss
import numpy as np
from coded_index_squad import texts

from latentstack import get_embedder
from latentstack.bench.report import environment

SIZES = (3, 10, 100, 1000, 3000, None)


def main(squad: Path, out: Path) -> None:
    base, asked = texts(squad, 1000)
    embedder = get_embedder("bert", show_progress=False)
    x, q = embedder.embed_many(base), embedder.embed_many(asked)
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(x)
    truth = flat.search(q, 10)[1]
    order = np.random.default_rng(0).permutation(len(x))
    rows = []
    for kind in ("SQ8", "SQ4", "SQfp16"):
        for n in SIZES:
            index = faiss.index_factory(x.shape[1], kind, faiss.METRIC_INNER_PRODUCT)
            index.train(x[order[: n or len(x)]])
            index.add(x)
            found = index.search(q, 10)[1]
            recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)]))
            rows.append({"index": kind, "trained_on": n or len(x), "recall@10": round(recall, 4)})
            print(json.dumps(rows[-1]), file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    result = {"base": len(x), "queries": len(q), "rows": rows, "environment": environment()}
    (out / "sq-train-size.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
