"""Write a keyword-heavy, many-class labeled set from SQuAD: question -> its article's title.

    python benchmarks/make_squad_topics.py ../shared/data/squad-dev-v1.1.json /tmp/squad-topics.tsv

Split by a hash of the question id (about 80/20), so it is fixed and independent of order.
Used to check that hybrid+linear is at least as good as TF-IDF and MiniLM alone on data
unlike SMS (many topics, rare proper nouns).
"""

from __future__ import annotations

import hashlib
import sys

from latentstack.data.squad import load_squad


def main(src: str, dst: str) -> None:
    """Read SQuAD, write split/label/text TSV."""
    squad = load_squad(src)
    titles = {p.article: p.title for p in squad.paragraphs}
    with open(dst, "w", encoding="utf-8") as fh:
        fh.write("split\tlabel\ttext\n")
        for q in squad.questions:
            split = "test" if int(hashlib.sha256(q.id.encode()).hexdigest(), 16) % 5 == 0 else "train"
            text = " ".join(q.text.split())
            fh.write(f"{split}\t{titles[q.article]}\t{text}\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
