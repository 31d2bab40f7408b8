"""Activation smoothing (SmoothQuant) for the int8 export: move activation outliers into the weights.

Dynamic int8 quantises each activation tensor with one scale. MiniLM's LayerNorm outputs have
a few channels 4-15x larger than the median (the same few in every layer), so that scale is
coarse for all the others. For every projection that reads a LayerNorm output (the fused
Attention's QKV, the feed-forward's first MatMul) this inserts ``x * (1 / s)`` on that edge and
scales the weight's input rows by ``s``, with ``s = max|x|^alpha / max|W|^(1 - alpha)`` per
channel: the fp32 graph computes the same function, but the int8 one loses far less.
(In BERT's post-norm layers the LayerNorm output is also the residual, so ``s`` cannot be
folded into the LayerNorm; the Mul is one small elementwise op per projection group.)

``max|x|`` comes from running the fp32 graph on calibration texts with onnxruntime.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

NORMS = {"LayerNormalization", "SkipLayerNormalization", "EmbedLayerNormalization"}
PROJECTIONS = {"Attention", "MatMul"}


def smoothable(graph: Any) -> dict[str, list[Any]]:
    """LayerNorm output tensor -> the Attention / constant-weight MatMul nodes that read it."""
    constants = {init.name for init in graph.initializer}
    producer = {out: node.op_type for node in graph.node for out in node.output}
    found: dict[str, list[Any]] = {}
    for node in graph.node:
        if (node.op_type in PROJECTIONS and len(node.input) > 1 and node.input[1] in constants
                and producer.get(node.input[0]) in NORMS):
            found.setdefault(node.input[0], []).append(node)
    return found


def channel_max(model: Any, tensors: list[str], feeds: Iterable[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-channel max |x| of the named tensors of ``model`` (a loaded ModelProto) over the batches in ``feeds``.

    The tensors become graph outputs only while the session is built; ``model`` is left as it was.
    A feed may hold inputs the graph does not take (token_type_ids); they are dropped.
    """
    import onnx
    import onnxruntime as ort

    outputs = len(model.graph.output)
    model.graph.output.extend(onnx.helper.make_empty_tensor_value_info(name) for name in tensors)
    try:
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    finally:
        del model.graph.output[outputs:]
    inputs = {i.name for i in sess.get_inputs()}
    amax: dict[str, np.ndarray] = {}
    for feed in feeds:
        for name, x in zip(tensors, sess.run(tensors, {k: v for k, v in feed.items() if k in inputs}), strict=True):
            m = np.abs(x.reshape(-1, x.shape[-1])).max(axis=0)
            amax[name] = np.maximum(amax[name], m) if name in amax else m
    if len(amax) != len(tensors):
        raise ValueError("smoothing needs at least one calibration text")
    return amax


def smooth(src: Path, dst: Path, feeds: Iterable[dict[str, np.ndarray]], alpha: float) -> list[str]:
    """Write ``src`` smoothed to ``dst``; returns the names of the nodes whose weights were scaled."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    targets = smoothable(graph)
    if not targets:
        onnx.save(model, str(dst))
        return []
    amax = channel_max(model, list(targets), feeds)
    weights = {init.name: init for init in graph.initializer}
    muls = {}
    for k, (tensor, nodes) in enumerate(targets.items()):
        mats = [numpy_helper.to_array(weights[node.input[1]]) for node in nodes]  # (in, out)
        wmax = np.max([np.abs(w).max(axis=1) for w in mats], axis=0)
        s = np.maximum(np.maximum(amax[tensor], 1e-5) ** alpha / np.maximum(wmax, 1e-5) ** (1 - alpha), 1e-5)
        for node, w in zip(nodes, mats, strict=True):
            weights[node.input[1]].CopyFrom(numpy_helper.from_array((w * s[:, None]).astype(w.dtype), node.input[1]))
        graph.initializer.append(numpy_helper.from_array((1 / s).astype(np.float32), f"smooth_{k}_inverse"))
        muls[tensor] = onnx.helper.make_node("Mul", [tensor, f"smooth_{k}_inverse"], [f"{tensor}_smoothed"],
                                             name=f"Smooth_{k}")
        for node in nodes:
            node.input[0] = f"{tensor}_smoothed"
    ordered = []  # each Mul right after the node that produces its input, so the graph stays sorted
    for node in graph.node:
        ordered.append(node)
        ordered.extend(muls[out] for out in node.output if out in muls)
    del graph.node[:]
    graph.node.extend(ordered)
    onnx.save(model, str(dst))
    return [node.name for nodes in targets.values() for node in nodes]
