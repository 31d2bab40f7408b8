"""Seconds to fit hybrid+linear when its MiniLM embeddings are already cached: TF-IDF and the heads only.

`bench classify` starts every run with an empty embedding cache, so a hybrid's train
seconds there are mostly MiniLM embedding the training texts. A user retraining on the
same texts has them cached; this times that case, RUNS fits, one JSON line each:

    python benchmarks/cached_fit.py benchmarks/data/sms-spam.tsv 2
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from latentstack import get_classifier, get_embedder
from latentstack.cache import embed_cached
from latentstack.data.labeled import load_labeled

HYBRID = {"embedder": "bert", "embedder_options": {"pooling": "mean", "show_progress": False}, "hybrid": True}


def main(data: str, runs: int) -> None:
    """Embed every text once (cached), fit once on 40 texts untimed (imports, model load), then time ``runs`` fits."""
    splits = load_labeled(data)
    train, test = splits["train"], splits["test"]
    embed_cached(get_embedder("bert", pooling="mean", show_progress=False), train.texts + test.texts)
    get_classifier("linear", seed=0, **HYBRID).fit(train.texts[:40], train.labels[:40])
    for _ in range(runs):
        clf = get_classifier("linear", seed=0, **HYBRID)
        started = time.perf_counter()
        clf.fit(train.texts, train.labels)
        seconds = time.perf_counter() - started
        accuracy = float(np.mean([a == b for a, b in zip(clf.predict(test.texts), test.labels, strict=True)]))
        sys.stdout.write(json.dumps({"train_s_cached_embeddings": round(seconds, 2), "accuracy": round(accuracy, 4)}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
