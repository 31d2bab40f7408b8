"""Does quantising the QKV projection too (onnxruntime's QAttention) bring ONNX int8 to 2x torch fp32?

`latentstack export onnx --int8` quantises the MatMuls only; the fused Attention op's QKV
projection stays fp32 because quantising it lowered the mean cosine below the 0.99 floor.
This measures, in one run on the vendored SMS texts at batch 32 (2 threads, two passes
each, alternating): our torch fp32 `bert` embedder, the MatMul-only int8 graph, the
graph with QAttention too, and QAttention everywhere but the last layer; with the cosine
of each against torch fp32. Writes benchmarks/results/int8-attention.json.

    .venv/bin/python benchmarks/int8_attention_probe.py
"""
import tempfile
import time
import warnings
from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic

from latentstack import get_embedder
from latentstack.atomic import write_json
from latentstack.data.labeled import load_labeled
from latentstack.hf import quiet_transformers
from latentstack_onnx.embedder import run_session, session
from latentstack_onnx.export import ExportConfig, _export, _optimize, _quiet_logging, _torch_model, cosines
from latentstack_onnx.graph import pooled_module

warnings.filterwarnings("ignore")
quiet_transformers()
texts = [t for part in load_labeled("benchmarks/data/sms-spam.tsv").values() for t in part.texts]  # as bench embed
bert = get_embedder("bert", show_progress=False, batch_size=32)
cfg = ExportConfig()
tmp = Path(tempfile.mkdtemp())
fused = tmp / "fused.onnx"
with _quiet_logging():
    _export(pooled_module(_torch_model(bert, cfg), cfg.pooling, cfg.normalize), bert.tokenizer, fused, cfg.opset)
    _optimize(fused, 384, 12)
    variants = {}
    for name, ops, skip in [("onnx-int8 MatMul (the export's recipe)", ["MatMul"], []),
                            ("onnx-int8 MatMul + QAttention", ["MatMul", "Attention"], []),
                            ("onnx-int8 MatMul + QAttention but the last layer", ["MatMul", "Attention"], ["Attention_5"])]:
        path = tmp / f"{len(variants)}.onnx"
        quantize_dynamic(str(fused), str(path), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=ops,
                         nodes_to_exclude=skip, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        variants[name] = session(path, 2)
speed: dict[str, list[float]] = {}
cos: dict[str, list[float]] = {}
bert.embed_many(texts[:64])
for _ in range(2):
    t = time.perf_counter()
    ref = bert.embed_many(texts)
    speed.setdefault("torch-fp32", []).append(len(texts) / (time.perf_counter() - t))
    for name, sess in variants.items():
        t = time.perf_counter()
        got = run_session(sess, bert.tokenizer, texts, 256, 32, 384)
        speed.setdefault(name, []).append(len(texts) / (time.perf_counter() - t))
        c = cosines(ref, got)
        cos[name] = [float(c.mean()), float(c.min())]
base = max(speed["torch-fp32"])
out = []
for name, s in speed.items():
    row = {"method": name, "texts_per_s": [round(x, 1) for x in s], "x_torch_fp32_best": round(max(s) / base, 2)}
    if name in cos:
        row |= {"cosine_mean": round(cos[name][0], 4), "cosine_min": round(cos[name][1], 4)}
    out.append(row)
    print(f"{name:48s} {' '.join(f'{x:6.1f}' for x in s)} texts/s  {row['x_torch_fp32_best']:.2f}x  "
          f"cos {row.get('cosine_mean', 1):.4f} / {row.get('cosine_min', 1):.4f}")
write_json(Path("benchmarks/results/int8-attention.json"), {"texts": len(texts), "batch_size": 32, "threads": 2,
                                                            "results": out})
