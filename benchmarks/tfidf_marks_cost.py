"""Seconds of a TF-IDF fit and embed of the SMS training texts (5 in a row: the first, and the median), for
comparing code before and after a tokenizer change in one run:

    for i in 1 2 3; do PYTHONPATH=BEFORE/corelib:BEFORE/plugins .venv/bin/python benchmarks/tfidf_marks_cost.py before
        .venv/bin/python benchmarks/tfidf_marks_cost.py after; done
"""
import sys, time, json
from latentstack.data.labeled import load_labeled
texts = load_labeled("benchmarks/data/sms-spam.tsv")["train"].texts
t0 = time.perf_counter()
from latentstack_tfidf.tfidf import TfidfEmbedder
imp = time.perf_counter() - t0
runs = []
for _ in range(5):
    t = time.perf_counter(); e = TfidfEmbedder().fit(texts); e.embed_many(texts); runs.append(time.perf_counter() - t)
print(json.dumps({"code": sys.argv[1], "first_s": round(runs[0], 4), "median_s": round(sorted(runs)[2], 4), "vocab": e.vocab_size}))
