"""Seconds of a TF-IDF fit and embed of the SMS training texts (5 in a row: the first, and the median), for
comparing code before and after a tokenizer change in one run:

    for i in 1 2 3; do PYTHONPATH=BEFORE/corelib:BEFORE/plugins .venv/bin/python benchmarks/tfidf_marks_cost.py before
        .venv/bin/python benchmarks/tfidf_marks_cost.py after; done
"""

from __future__ import annotations

import json
import sys
import time

from latentstack.data.labeled import load_labeled
from latentstack_tfidf.tfidf import TfidfEmbedder


def main(code: str) -> None:
    """Print one JSON line: the first run's seconds, the median's, and the vocabulary size."""
    texts = load_labeled("benchmarks/data/sms-spam.tsv")["train"].texts
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        emb = TfidfEmbedder().fit(texts)
        emb.embed_many(texts)
        runs.append(time.perf_counter() - started)
    sys.stdout.write(json.dumps({"code": code, "first_s": round(runs[0], 4), "median_s": round(sorted(runs)[2], 4),
                                 "vocab": emb.vocab_size}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
