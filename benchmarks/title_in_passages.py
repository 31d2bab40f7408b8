"""Whether putting a document's title in front of its text helps retrieval (LlamaIndex embeds a node's metadata
with its text by default; "contextual chunk headers" do the same).

SQuAD dev's 2,067 paragraphs, each a document titled by its article, indexed whole with the default embedder
(MiniLM) twice: the paragraph alone, and "Title\\n\\nparagraph"; its 10,570 questions are asked hybrid and dense,
and a hit is the question's paragraph (hit@1, hit@5).

    python benchmarks/title_in_passages.py ../shared/data/squad-dev-v1.1.json benchmarks/results/title-in-passages
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from latentstack.bench.report import environment
from latentstack.search import ChunkConfig, Collection


def corpus(path: Path) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    paras, queries = [], []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        title = article["title"].replace("_", " ")
        for p in article["paragraphs"]:
            pid = f"p{len(paras)}"
            paras.append((pid, title, p["context"]))
            queries += [(qa["question"], pid) for qa in p["qas"]]
    return paras, queries


def main(squad: Path, out: Path) -> None:
    paras, queries = corpus(squad)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for with_title in (False, True):
            col = Collection.create(Path(tmp) / str(with_title), embedder="bert", chunking=ChunkConfig(mode="whole"))
            col.add_documents([{"id": i, "title": t, "text": f"{t}\n\n{x}" if with_title else x} for i, t, x in paras])
            row: dict = {"title_before_text": with_title, "documents": len(paras), "queries": len(queries)}
            for hybrid in (True, False):
                hits = col.search_many([q for q, _ in queries], k=5, hybrid=hybrid)
                ranks = [next((r for r, h in enumerate(hs) if h.doc_id == pid), None)
                         for hs, (_, pid) in zip(hits, queries, strict=True)]
                name = "hybrid" if hybrid else "dense"
                row[f"{name}_hit_at_1"] = round(sum(r == 0 for r in ranks) / len(ranks), 4)
                row[f"{name}_hit_at_5"] = round(sum(r is not None for r in ranks) / len(ranks), 4)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    result = {"rows": rows, "environment": environment(),
              "command": "python benchmarks/title_in_passages.py ../shared/data/squad-dev-v1.1.json OUT"}
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
