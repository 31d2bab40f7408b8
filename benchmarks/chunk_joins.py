"""What joining short paragraphs does to paragraph chunking: a heading, a list item or a lead-in line was a
passage of its own, so a search could answer with a heading and no text under it.

Two corpora, each indexed with the default embedder (MiniLM) and searched hybrid and dense:
- markdown documentation: this repository's docs/*.md and README.md (headings, lists, code blocks). Queries are
  the section headings' words (a user typing a topic's name); a hit is a first passage holding the section's
  first paragraph of text, and a miss that is a heading alone is counted apart.
- SQuAD dev's 48 articles written as Markdown (`# Title`, then each paragraph): prose whose paragraphs are all
  longer than the join threshold, so only the title joins its first paragraph; hit@1 and hit@5 of a passage of
  the question's paragraph.

Run it with the code to compare on PYTHONPATH for the figures before a change (the code before takes no
min_chars and runs the one configuration it has):

    python benchmarks/chunk_joins.py ../shared/data/squad-dev-v1.1.json benchmarks/results/chunk-joins/now
    PYTHONPATH=OLD/corelib:OLD/plugins python benchmarks/chunk_joins.py ../shared/data/squad-dev-v1.1.json \\
        benchmarks/results/chunk-joins/before
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import attrs

from latentstack.bench.report import environment
from latentstack.search import ChunkConfig, Collection

REPO = Path(__file__).resolve().parent.parent
HEADING = re.compile(r"^#{1,6} +(.+?)\s*#*\s*$")


def doc_sections(text: str) -> list[tuple[str, str]]:
    """(heading words, the section's first paragraph of text) for each section that has one."""
    out, heading, in_fence = [], None, False
    for para in re.split(r"\n\s*\n", text):
        stripped = para.strip()
        if stripped.startswith(("```", "~~~")) or in_fence:
            in_fence = (stripped.count("```") + stripped.count("~~~")) % 2 == 1 != in_fence
            continue
        lines = stripped.splitlines()
        if lines and all(HEADING.match(line) for line in lines):
            heading = HEADING.match(lines[-1]).group(1).replace("`", "")  # type: ignore[union-attr]
        elif heading and stripped:
            out.append((heading, stripped))
            heading = None
    return out


def docs_corpus() -> tuple[list[dict], list[tuple[str, str, str]]]:
    files = sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"]
    docs = [{"id": f.name, "text": f.read_text(encoding="utf-8")} for f in files]
    queries = [(words, d["id"], first) for d in docs for words, first in doc_sections(d["text"])]
    return docs, queries


def squad_corpus(path: Path) -> tuple[list[dict], list[tuple[str, str, tuple[int, int]]]]:
    docs, queries = [], []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        text, spans = f"# {article['title'].replace('_', ' ')}", []
        for p in article["paragraphs"]:
            text += "\n\n"
            spans.append((len(text), len(text) + len(p["context"])))
            text += p["context"]
            queries += [(qa["question"], article["title"], spans[-1]) for qa in p["qas"]]
        docs.append({"id": article["title"], "text": text})
    return docs, queries


def chunking(min_chars: int | None) -> ChunkConfig:
    return ChunkConfig(mode="paragraph") if min_chars is None else ChunkConfig(mode="paragraph", min_chars=min_chars)


def chunk_stats(col: Collection) -> dict:
    texts = [c.text for c in col.store.all_chunks()]
    heading_only = sum(all(HEADING.match(line) for line in t.splitlines()) for t in texts)
    return {"chunks": len(texts), "under_100_chars": sum(len(t) < 100 for t in texts), "heading_only": heading_only,
            "mean_chars": round(sum(map(len, texts)) / len(texts), 1)}


def run_docs(tmp: Path, min_chars: int | None) -> dict:
    docs, queries = docs_corpus()
    col = Collection.create(tmp / f"docs-{min_chars}", embedder="bert", chunking=chunking(min_chars))
    col.add_documents(docs)
    row = {"corpus": "markdown docs", "min_chars": min_chars, "documents": len(docs), "queries": len(queries),
           **chunk_stats(col)}
    for hybrid in (True, False):
        hits = col.search_many([q for q, _, _ in queries], k=1, hybrid=hybrid)
        first = [h[0] for h in hits]
        got = [f.doc_id == doc and body in f.text for f, (_, doc, body) in zip(first, queries, strict=True)]
        bare = [all(HEADING.match(line) for line in f.text.splitlines()) for f in first]
        name = "hybrid" if hybrid else "dense"
        row[f"{name}_section_text_at_1"] = round(sum(got) / len(got), 3)
        row[f"{name}_heading_alone_at_1"] = round(sum(bare) / len(bare), 3)
    return row


def run_squad(tmp: Path, path: Path, min_chars: int | None) -> dict:
    docs, queries = squad_corpus(path)
    col = Collection.create(tmp / f"squad-{min_chars}", embedder="bert", chunking=chunking(min_chars))
    col.add_documents(docs)
    row = {"corpus": "squad articles as markdown", "min_chars": min_chars, "documents": len(docs),
           "queries": len(queries), **chunk_stats(col)}
    for hybrid in (True, False):
        hits = col.search_many([q for q, _, _ in queries], k=5, hybrid=hybrid)
        ranks = [next((i for i, h in enumerate(hs) if h.doc_id == doc and h.start < b and h.end > a), None)
                 for hs, (_, doc, (a, b)) in zip(hits, queries, strict=True)]
        name = "hybrid" if hybrid else "dense"
        row[f"{name}_hit_at_1"] = round(sum(r == 0 for r in ranks) / len(ranks), 4)
        row[f"{name}_hit_at_5"] = round(sum(r is not None for r in ranks) / len(ranks), 4)
    return row


def main(squad_path: Path, out: Path) -> None:
    joins = "min_chars" in attrs.fields_dict(ChunkConfig)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for min_chars in ((0, 100) if joins else (None,)):
            for row in (run_docs(Path(tmp), min_chars), run_squad(Path(tmp), squad_path, min_chars)):
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
    result = {"rows": rows, "environment": environment(), "code": str(Path(sys.modules["latentstack"].__file__).parent),
              "corpus_files": sorted(f.name for f in (REPO / "docs").glob("*.md")) + ["README.md"]}
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
