#!/usr/bin/env bash
# Wall seconds of `latentstack classify train` in a fresh process (Python start, imports, data, fit, save),
# the way a user at a terminal waits for it; RUNS runs, one JSON line each. With BEFORE set to a checkout
# of older code (e.g. a git worktree), the same command runs on its corelib/ and plugins/ too, in turn.
# EXTRA adds options to the command (e.g. EXTRA="--head nb").
#
#   [EXTRA=...] bash benchmarks/cli_train_seconds.sh benchmarks/data/sms-spam.tsv tfidf 3 [BEFORE]
set -euo pipefail
data=$1 embedder=$2 runs=$3 before=${4:-}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
one() {  # $1: label, $2: PYTHONPATH ('' for this checkout)
    local start end
    start=$(date +%s.%N)
    PYTHONPATH=$2 .venv/bin/latentstack -q classify train --data "$data" --embedder "$embedder" ${EXTRA:-} --out "$out/$1" > /dev/null
    end=$(date +%s.%N)
    rm -rf "${out:?}/$1"
    printf '{"code": "%s", "embedder": "%s", "extra": "%s", "wall_s": %.2f}\n' "$1" "$embedder" "${EXTRA:-}" "$(echo "$end - $start" | bc)"
}
for _ in $(seq "$runs"); do
    if [ -n "$before" ]; then one before "$before/corelib:$before/plugins"; fi
    one after ""
done
