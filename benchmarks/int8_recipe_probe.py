"""Which int8 recipe, if any, makes the ONNX encoder 2x our torch fp32 with parity on this CPU?

`latentstack export onnx --int8` swaps the feed-forward's erf GELU for onnxruntime's tanh
approximation (FastGelu), smooths the activations that feed the projections reading a
LayerNorm output (SmoothQuant, alpha 0.5, calibrated on the built-in texts), then quantises
dynamically, per output channel: those projections (QKV in onnxruntime's QAttention, the
feed-forward's first MatMul) with 7-bit weights, every other MatMul with 8-bit ones. Every
graph here is optimised as the export does it (residual Add + LayerNormalization left
unfused). This measures, in one run on the vendored SMS texts at batch 32 (2 threads, two
passes each, alternating), our torch fp32 `bert` embedder against:

- the export's recipe, the same with the exact GELU (`--int8-gelu erf`), and the same with
  8-bit weights throughout;
- the export's recipe before smoothing (`--smooth 0`): the MatMuls only, QKV in fp32;
- the same with the QKV projection quantised too (onnxruntime's QAttention), everywhere
  or everywhere but the last layer;
- the graph optimised without the Attention fusion, every MatMul with a constant weight
  quantised (so Q, K and V too), dynamically;
- static quantisation, calibrated on 256 training texts: QDQ on the fused graph, and
  QOperator (QLinearMatMul, uint8 activations) on the constant-weight MatMuls of the graph as
  exported (onnxruntime's static quantiser fails on the optimised graphs' com.microsoft ops);

with the cosine of each against torch fp32 on the SMS texts and on the export's 24 probe
texts (the export's floor: mean 0.99 on those). Writes benchmarks/results/int8-recipes.json,
or the JSON file named as the first argument.

    .venv/bin/python benchmarks/int8_recipe_probe.py [OUT.json]
"""
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                      quantize_static)
from onnxruntime.transformers.fusion_options import FusionOptions
from onnxruntime.transformers.optimizer import optimize_model

from latentstack import get_embedder
from latentstack.atomic import write_json
from latentstack.data.labeled import load_labeled
from latentstack.hf import quiet_transformers
from latentstack_onnx.calibration import CALIBRATION
from latentstack_onnx.embedder import run_session, session
from latentstack_onnx.export import (ExportConfig, _export, _optimize, _quantize, _quiet_logging, _torch_model,
                                     calibration_feeds, cosines)
from latentstack_onnx.graph import pooled_module
from latentstack_onnx.probe import PROBE
from latentstack_onnx.smoothing import smooth

FLOAT = {"DefaultTensorType": onnx.TensorProto.FLOAT}  # the fused graph's com.microsoft ops are float
warnings.filterwarnings("ignore")
quiet_transformers()
parts = load_labeled("benchmarks/data/sms-spam.tsv")
texts = [t for part in parts.values() for t in part.texts]  # as bench embed
bert = get_embedder("bert", show_progress=False, batch_size=32)
cfg = ExportConfig()
tmp = Path(tempfile.mkdtemp())


class Calibration(CalibrationDataReader):
    """256 training texts in length-sorted batches of 32, as the embedder feeds them."""

    def __init__(self) -> None:
        calib = sorted(parts["train"].texts[:256], key=len)
        enc = [bert.tokenizer(calib[i:i + 32], padding=True, truncation=True, max_length=256, return_tensors="np")
               for i in range(0, len(calib), 32)]
        self.batches = iter([{k: e[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
                             for e in enc])

    def get_next(self) -> dict | None:
        return next(self.batches, None)


def dynamic(ops: list[str], skip: list[str] = (), **extra: object) -> Callable[[Path, Path], None]:
    return lambda src, dst: quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                                             op_types_to_quantize=ops, nodes_to_exclude=list(skip),
                                             extra_options=FLOAT | extra)


def export_recipe(smoothing: float, gelu: str = "tanh") -> Callable[[Path, Path], None]:
    return lambda src, dst: _quantize(src, dst, ExportConfig(int8=True, smooth=smoothing, int8_gelu=gelu),
                                      calibration_feeds(bert.tokenizer, CALIBRATION, 256))


def smoothed_8bit(src: Path, dst: Path) -> None:
    """The export's smoothing, then every MatMul and QKV with 8-bit weights (saturates on AVX2)."""
    smoothed = tmp / "smoothed.onnx"
    smooth(src, smoothed, calibration_feeds(bert.tokenizer, CALIBRATION, 256), 0.5)
    dynamic(["MatMul", "Attention"])(smoothed, dst)


def static(fmt: QuantFormat, **extra: object) -> Callable[[Path, Path], None]:
    return lambda src, dst: quantize_static(str(src), str(dst), Calibration(), quant_format=fmt, per_channel=True,
                                            op_types_to_quantize=["MatMul"], activation_type=QuantType.QUInt8,
                                            weight_type=QuantType.QInt8, extra_options=FLOAT | extra)


with _quiet_logging():
    plain, fused, unfused = tmp / "plain.onnx", tmp / "fused.onnx", tmp / "unfused.onnx"
    _export(pooled_module(_torch_model(bert, cfg), cfg.pooling, cfg.normalize), bert.tokenizer, plain, cfg.opset)
    no_attention = FusionOptions("bert")
    no_attention.enable_attention = False
    no_attention.enable_skip_layer_norm = False  # as _optimize does
    optimize_model(str(plain), model_type="bert", num_heads=12, hidden_size=384, opt_level=1,
                   optimization_options=no_attention).save_model_to_file(str(unfused))
    fused.write_bytes(plain.read_bytes())
    _optimize(fused, 384, 12, 6)
    qkv = ["MatMul", "Attention"]
    recipes = [("smoothed, QKV + MatMuls, 7-bit smoothed weights, tanh GELU (the export's recipe)", fused,
                export_recipe(0.5)),
               ("the same with the exact (erf) GELU", fused, export_recipe(0.5, "erf")),
               ("smoothed, QKV + MatMuls, 8-bit weights throughout, erf GELU", fused, smoothed_8bit),
               ("int8 MatMul, fused graph (--smooth 0)", fused, export_recipe(0.0)),
               ("int8 MatMul + QAttention", fused, dynamic(qkv)),
               ("int8 MatMul + QAttention but the last layer", fused, dynamic(qkv, ["Attention_5"])),
               ("int8 constant-weight MatMuls, unfused attention", unfused, dynamic(["MatMul"], MatMulConstBOnly=True)),
               ("static QDQ, fused graph", fused, static(QuantFormat.QDQ)),
               ("static QOperator, graph not optimised", plain, static(QuantFormat.QOperator, MatMulConstBOnly=True))]
    variants = {}
    for name, src, quantize in recipes:
        path = tmp / f"{len(variants)}.onnx"
        quantize(src, path)
        variants[name] = session(path, 2)
speed: dict[str, list[float]] = {}
cos: dict[str, list[float]] = {}
reference = bert.embed_many(PROBE)
probe_cos = {name: float(cosines(reference, run_session(sess, bert.tokenizer, PROBE, 256, 32, 384)).mean())
             for name, sess in variants.items()}
bert.embed_many(texts[:64])
for _ in range(2):
    t = time.perf_counter()
    ref = bert.embed_many(texts)
    speed.setdefault("torch fp32", []).append(len(texts) / (time.perf_counter() - t))
    for name, sess in variants.items():
        t = time.perf_counter()
        got = run_session(sess, bert.tokenizer, texts, 256, 32, 384)
        speed.setdefault(name, []).append(len(texts) / (time.perf_counter() - t))
        c = cosines(ref, got)
        cos[name] = [float(c.mean()), float(c.min())]
base = max(speed["torch fp32"])
out = []
for name, s in speed.items():
    row = {"method": name, "texts_per_s": [round(x, 1) for x in s], "x_torch_fp32_best": round(max(s) / base, 2)}
    if name in cos:
        row |= {"cosine_mean": round(cos[name][0], 4), "cosine_min": round(cos[name][1], 4),
                "probe_cosine_mean": round(probe_cos[name], 4)}
    out.append(row)
    print(f"{name:70s} {' '.join(f'{x:6.1f}' for x in s)} texts/s  {row['x_torch_fp32_best']:.2f}x  "
          f"cos {row.get('cosine_mean', 1):.4f} / {row.get('cosine_min', 1):.4f}  probe {row.get('probe_cosine_mean', 1):.4f}")
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("benchmarks/results/int8-recipes.json")
write_json(OUT, {"texts": len(texts), "batch_size": 32, "threads": 2, "calibration_texts": 256, "results": out})
