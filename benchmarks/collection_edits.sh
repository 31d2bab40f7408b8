#!/usr/bin/env bash
# What `index add` and `index remove` of one document cost on a large collection, before and after a change:
# each a fresh process on a fresh copy of the collection that benchmarks/collection_reads.py builds.
#   bash benchmarks/collection_edits.sh COLLECTION OLD_CHECKOUT [REPS] > LOG
set -euo pipefail
COL="$1"; OLD="$2"; REPS="${3:-2}"
PY="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python"
WORK="$(mktemp -d)"
echo '{"id": "new-doc", "text": "w1 w2 w3 w12 w7 a new passage about w301"}' > "$WORK/one.jsonl"
grep -o -E 'amx_bf16|avx512_vnni|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/^/# CPU features: /'; echo
for r in $(seq "$REPS"); do
  for code in before now; do
    rm -rf "$WORK/col"; cp -r "$COL" "$WORK/col"; sync
    if [ "$code" = before ]; then PP="$OLD/corelib:$OLD/plugins"; else PP=""; fi
    s=$(date +%s.%N); PYTHONPATH="$PP" "$PY" -m latentstack -q index add "$WORK/col" --from "$WORK/one.jsonl" >/dev/null
    e=$(date +%s.%N); echo "$code index add, 1 document: $(echo "$e - $s" | bc) s"
    s=$(date +%s.%N); PYTHONPATH="$PP" "$PY" -m latentstack -q index remove "$WORK/col" new-doc >/dev/null
    e=$(date +%s.%N); echo "$code index remove, 1 document: $(echo "$e - $s" | bc) s"
  done
done
rm -rf "$WORK"
