"""A copy of a SQuAD file whose paragraphs are in Unicode NFD, as macOS file names and some PDF text come.

The questions stay as typed (NFC). BM25 on the copy against BM25 on the original shows what
a word spelt two ways costs the lexical index:

    .venv/bin/python benchmarks/nfd_squad.py ../shared/data/squad-dev-v1.1.json /tmp/squad-nfd.json
    latentstack bench retrieval --data /tmp/squad-nfd.json --methods bm25 --out benchmarks/results/bm25-unicode/nfd
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path


def main(source: Path, out: Path) -> None:
    data = json.loads(source.read_text(encoding="utf-8"))
    changed = 0
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            nfd = unicodedata.normalize("NFD", paragraph["context"])
            changed += nfd != paragraph["context"]
            paragraph["context"] = nfd
    out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    print(f"{changed} paragraphs differ in NFD; wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
