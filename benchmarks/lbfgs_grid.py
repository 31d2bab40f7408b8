"""Test accuracy of an lbfgs logistic head on the classic TF-IDF at every (C, class_weight) of the old grid.

The linear head before issue 24 searched this grid by 5-fold cross-validation with lbfgs:
about 60 fits of half a minute to a minute each on 48-class SQuAD topics. Its test
accuracy at every setting it could pick bounds what it would have scored, in 12 fits:

    python benchmarks/lbfgs_grid.py /tmp/squad-topics.tsv OUT.json
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np

from latentstack import get_embedder
from latentstack.data.labeled import load_labeled

C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


def main(data: str, out: str) -> None:
    """Fit each setting on the train split, score on the test split, write the rows as JSON."""
    from sklearn.linear_model import LogisticRegression

    splits = load_labeled(data)
    train, test = splits["train"], splits["test"]
    emb = get_embedder("tfidf", word_ngrams=(1, 2), char_ngrams=(2, 5), min_df=1, sublinear_tf=True)
    x, xt = emb.fit(train.texts).embed_many(train.texts), emb.embed_many(test.texts)
    classes = sorted(set(train.labels))
    y, yt = (np.array([classes.index(label) for label in s.labels]) for s in (train, test))
    rows = []
    for weight in (None, "balanced"):
        for c in C_GRID:
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = LogisticRegression(C=c, class_weight=weight, max_iter=5000, random_state=0).fit(x, y)
            rows.append({"C": c, "class_weight": weight or "none", "fit_s": round(time.perf_counter() - started, 1),
                         "accuracy": round(float(np.mean(model.predict(xt) == yt)), 4)})
            sys.stdout.write(json.dumps(rows[-1]) + "\n")
    with open(out, "w") as f:
        json.dump({"data": data, "train": len(y), "test": len(yt), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
