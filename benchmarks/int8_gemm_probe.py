"""How much faster int8 matrix products are than fp32 on this CPU, at MiniLM's batch-32 shapes.

The issue asks ONNX int8 to embed 2x faster than torch fp32 end to end. This measures the
ceiling: one MatMul (fp32 in onnxruntime, onnxruntime's dynamic int8 with per-tensor
activation and int8 weights, and torch fp32) at the shapes of MiniLM's projections for a
batch of 32 texts of 48 tokens, 2 threads, median of 15. Prints a line per shape and
writes benchmarks/results/int8-gemm.json, or the JSON file named as the first argument.

    .venv/bin/python benchmarks/int8_gemm_probe.py [OUT.json]
"""
import os
import sys
import tempfile
import time
import warnings

import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper
import onnxruntime as ort
from onnxruntime.quantization import quantize_dynamic, QuantType
import torch

from latentstack.atomic import write_json

warnings.filterwarnings("ignore")
torch.set_num_threads(2)
rng = np.random.default_rng(0)
tmp = tempfile.mkdtemp()
rows = []
for M, K, N in [(32 * 48, 384, 384), (32 * 48, 384, 1536), (32 * 48, 1536, 384)]:
    W = rng.standard_normal((K, N)).astype(np.float32) * 0.05
    X = rng.standard_normal((M, K)).astype(np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["m", K])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", N])],
                          initializer=[numpy_helper.from_array(W, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    fp = os.path.join(tmp, f"fp{N}{K}.onnx"); q8 = os.path.join(tmp, f"q{N}{K}.onnx")
    onnx.save(m, fp)
    quantize_dynamic(fp, q8, weight_type=QuantType.QInt8)
    so = ort.SessionOptions(); so.intra_op_num_threads = 2; so.inter_op_num_threads = 1
    res = {}
    for name, path in [("ort-fp32", fp), ("ort-int8", q8)]:
        s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        for _ in range(3): s.run(None, {"x": X})
        ts = []
        for _ in range(15):
            t = time.perf_counter(); s.run(None, {"x": X}); ts.append(time.perf_counter() - t)
        res[name] = np.median(ts)
    xt, wt = torch.from_numpy(X), torch.from_numpy(W)
    with torch.inference_mode():
        for _ in range(3): xt @ wt
        ts = []
        for _ in range(15):
            t = time.perf_counter(); xt @ wt; ts.append(time.perf_counter() - t)
    res["torch-fp32"] = np.median(ts)
    flops = 2 * M * K * N
    rows.append({"m": M, "k": K, "n": N, **{f"{k}_gflops": round(flops / v / 1e9, 1) for k, v in res.items()},
                 "int8_vs_torch_fp32": round(res["torch-fp32"] / res["ort-int8"], 2)})
    print(f"M={M} K={K} N={N}: " + ", ".join(f"{k} {flops / v / 1e9:.0f} GFLOP/s" for k, v in res.items())
          + f"; int8/torch {res['torch-fp32'] / res['ort-int8']:.2f}x, int8/ort-fp32 {res['ort-fp32'] / res['ort-int8']:.2f}x")
flags = sorted({f for f in open("/proc/cpuinfo").read().split() if "avx" in f or "vnni" in f})
default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "int8-gemm.json")
write_json(sys.argv[1] if len(sys.argv) > 1 else default, {"cpu_flags": flags, "threads": 2, "shapes": rows})
