"""Fusion when BM25 lists few passages: a query whose word one passage alone holds (a name, a number, a code).

BM25 lists only the passages that hold a query word. When it lists one, or a few that score alike, its z-scores
have no spread: zscore fusion gave it 0, and the hybrid ranked as dense alone. The fusion now lets the passages BM25
leaves out score 0 beside its list, over the whole pool. This compares the fusions (and the alternative of a
single 0 joining a short list) on the same dense and BM25 hits (one MiniLM
embedding): SQuAD's questions, and queries made of a word that occurs in one paragraph only, alone or inside a
question-like phrase. Run with the fusion before in a checkout:

    python benchmarks/rare_terms.py ../shared/data/squad-dev-v1.1.json OLD_CHECKOUT OUT.json
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path


def old_fuse(checkout: Path):  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("old_fusion", checkout / "corelib/latentstack/search/fusion.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fuse


def one_zero_fuse(dense: list, lexical: list, method: str = "zscore") -> list:
    """The alternative measured beside: a single 0 joins a short lexical list (not one for every passage left out)."""
    import numpy as np

    from latentstack.interfaces import Hit

    def table(hits: list, short: bool) -> tuple[dict, float]:
        if not hits:
            return {}, 0.0
        s = np.array([h.score for h in hits])
        whole = np.append(s, 0.0) if short else s
        mean, std = whole.mean(), whole.std() + 1e-9
        z = (s - mean) / std
        return {h.id: v for h, v in zip(hits, z, strict=True)}, min(z.min(), -mean / std) if short else z.min()

    tables = [table(dense, False), table(lexical, len(lexical) < len(dense))]
    first = {h.id: h for r in (dense, lexical) for h in r}
    fused = {i: sum(t.get(i, floor) for t, floor in tables) for i in first}
    return [Hit(i, fused[i], {}) for i in sorted(fused, key=lambda i: -fused[i])]


def rare_words(paragraphs: list[str], limit: int = 600) -> list[tuple[str, int]]:
    """For each of the first ``limit`` paragraphs with one, a word of 5+ letters no other paragraph holds."""
    words = [set(re.findall(r"[a-z]{5,}", p.lower())) for p in paragraphs]
    seen = Counter(w for ws in words for w in ws)
    out = []
    for i, ws in enumerate(words):
        lone = sorted(w for w in ws if seen[w] == 1)
        if lone:
            out.append((lone[len(lone) // 2], i))
        if len(out) == limit:
            break
    return out


def recall_at(fused: list, gold: str, k: int) -> float:
    return float(gold in [h.id for h in fused[:k]])


def main(data: str, checkout: str, out: str) -> None:
    from latentstack import get_embedder, get_index
    from latentstack.bench.report import environment
    from latentstack.data.squad import load_squad
    from latentstack.search.fusion import fuse

    squad = load_squad(data)
    paragraphs = [p.text for p in squad.paragraphs]
    ids = [p.id for p in squad.paragraphs]
    emb = get_embedder("bert", model="minilm")
    dense = get_index("faiss", factory="Flat")
    dense.add(ids, emb.embed_many(paragraphs, "document"))
    lexical = get_index("bm25")
    lexical.add(ids, paragraphs)
    rare = rare_words(paragraphs)
    sets = {
        "SQuAD questions": [(q.text, q.paragraph) for q in squad.questions],
        "a word one paragraph holds, alone": [(w, ids[i]) for w, i in rare],
        "the word in a phrase: 'what does it say about WORD'": [(f"what does it say about {w}", ids[i]) for w, i in rare],
    }
    before = old_fuse(Path(checkout))
    rows = []
    for name, queries in sets.items():
        texts = [q for q, _ in queries]
        d = dense.search_batch(emb.embed_many(texts, "query"), 100)
        lx = lexical.search_batch(texts, 100)
        row = {"queries": name, "n": len(queries), "lexical lists under 100": sum(len(x) < 100 for x in lx)}
        for label, f in (("before", before), ("one 0 joins", one_zero_fuse), ("now", fuse)):
            fused = [f(a, b, "zscore") for a, b in zip(d, lx, strict=True)]
            for k in (1, 5):
                row[f"{label} recall@{k}"] = round(sum(recall_at(x, g, k) for x, (_, g) in zip(fused, queries, strict=True)) / len(queries), 4)
        for label, hits in (("dense", d), ("bm25", lx)):
            row[f"{label} recall@1"] = round(sum(recall_at(x, g, 1) for x, (_, g) in zip(hits, queries, strict=True)) / len(queries), 4)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    Path(out).write_text(json.dumps({"rows": rows, "environment": environment()}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:4])
