"""Several labels per text, on real questions: latentstack's multi-label linear classifier beside scikit-learn's
OneVsRestClassifier as a scikit-learn user writes it.

No multi-label text set can be installed here, so one is composed from SQuAD dev: the
questions of its 8 largest articles, each text one question or two from different
articles (labels: their articles' titles), and a tenth of texts from other articles with
no label. Questions are split into train and test (80/20, per article) before texts are
composed, so no test question is seen in training.

    .venv/bin/python benchmarks/multilabel_squad.py ../shared/data/squad-dev-v1.1.json benchmarks/results/multilabel-squad
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from latentstack.bench.report import environment
from latentstack.classify.metrics import multilabel_metrics

ARTICLES, TRAIN_TEXTS, TEST_TEXTS = 8, 2000, 600


def compose(squad: Path, seed: int = 0) -> dict[str, tuple[list[str], list[list[str]]]]:
    """{"train", "test"}: texts of one or two questions and their articles' titles ([] for other articles)."""
    data = json.loads(squad.read_text(encoding="utf-8"))["data"]
    by_title = {a["title"]: [q["question"] for p in a["paragraphs"] for q in p["qas"]] for a in data}
    ranked = sorted(by_title, key=lambda t: -len(by_title[t]))
    kept, other = ranked[:ARTICLES], [q for t in ranked[ARTICLES:] for q in by_title[t]]
    rng = random.Random(seed)
    pools: dict[str, dict[str, list[str]]] = {"train": {}, "test": {}}
    for title in [*kept, "(none)"]:
        questions = list(other if title == "(none)" else by_title[title])
        rng.shuffle(questions)
        cut = int(len(questions) * 0.8)
        pools["train"][title], pools["test"][title] = questions[:cut], questions[cut:]
    return {split: _texts(pools[split], kept, n, rng) for split, n in (("train", TRAIN_TEXTS), ("test", TEST_TEXTS))}


def _texts(pool: dict[str, list[str]], kept: list[str], n: int, rng: random.Random) -> tuple[list[str], list[list[str]]]:
    texts, labels = [], []
    for _ in range(n):
        if rng.random() < 0.1:
            texts.append(rng.choice(pool["(none)"]))
            labels.append([])
            continue
        titles = rng.sample(kept, 2 if rng.random() < 0.5 else 1)
        texts.append(" ".join(rng.choice(pool[t]) for t in titles))
        labels.append(sorted(titles))
    return texts, labels


def ours(options: dict[str, Any], method: str = "linear") -> Any:
    from latentstack import get_classifier

    def run(train: tuple[list[str], list[list[str]]], test_texts: list[str]) -> list[list[str]]:
        clf = get_classifier(method, **options).fit(*train)
        return clf.predict(test_texts)

    return run


def sklearn_ovr(features: str, weight: str | None = None) -> Any:
    """TfidfVectorizer (or the same MiniLM vectors) + OneVsRestClassifier(LogisticRegression()), defaults but
    ``class_weight``."""

    def run(train: tuple[list[str], list[list[str]]], test_texts: list[str]) -> list[list[str]]:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.preprocessing import MultiLabelBinarizer

        binarize = MultiLabelBinarizer()
        y = binarize.fit_transform(train[1])
        if features == "tfidf":
            vectorizer = TfidfVectorizer()
            x, x_test = vectorizer.fit_transform(train[0]), vectorizer.transform(test_texts)
        else:
            from latentstack import get_embedder

            emb = get_embedder("bert", show_progress=False)
            x, x_test = emb.embed_many(train[0]), emb.embed_many(test_texts)
        clf = OneVsRestClassifier(LogisticRegression(max_iter=1000, class_weight=weight)).fit(x, y)
        return [list(row) for row in binarize.inverse_transform(clf.predict(x_test))]

    return run


METHODS = {
    "sklearn: TfidfVectorizer + OneVsRest(LogisticRegression)": sklearn_ovr("tfidf"),
    "sklearn: the same, class_weight='balanced'": sklearn_ovr("tfidf", "balanced"),
    "latentstack: tfidf": ours({"embedder": "tfidf"}),
    "latentstack: tfidf, --tune-threshold": ours({"embedder": "tfidf", "tune_threshold": True}),
    "sklearn: MiniLM vectors + OneVsRest(LogisticRegression)": sklearn_ovr("bert"),
    "sklearn: the same, class_weight='balanced' (MiniLM)": sklearn_ovr("bert", "balanced"),
    "latentstack: bert (MiniLM)": ours({"embedder": "bert", "embedder_options": {"show_progress": False}}),
    "latentstack: hybrid (TF-IDF + MiniLM)": ours({"embedder": "bert", "hybrid": True,
                                                   "embedder_options": {"show_progress": False}}),
    "latentstack: --method finetune (LoRA on MiniLM, defaults)": ours({}, "finetune"),
    "latentstack: --method finetune -o head=random (a random head on the raw mean, as before)":
        ours({"head": "random"}, "finetune"),
}


def main(squad: Path, out: Path) -> None:
    import os
    import shutil
    import tempfile

    splits = compose(squad)
    classes = sorted({x for labels in splits["train"][1] for x in labels})
    rows = {}
    for name, method in METHODS.items():
        cache = tempfile.mkdtemp(prefix="multilabel-cache-")
        os.environ["LATENTSTACK_CACHE"] = cache  # every MiniLM method embeds cold
        start = time.perf_counter()
        pred = method(splits["train"], splits["test"][0])
        seconds = round(time.perf_counter() - start, 2)
        shutil.rmtree(cache)
        scores = multilabel_metrics(splits["test"][1], pred, classes)
        rows[name] = {"fit_and_predict_s": seconds, **{k: round(v, 4) for k, v in scores.items()
                                                         if not k.startswith("f1[")}}
        print(name, json.dumps(rows[name]), flush=True)
    result = {"data": {"train_texts": TRAIN_TEXTS, "test_texts": TEST_TEXTS, "labels": classes}, "methods": rows,
              "environment": environment()}
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
