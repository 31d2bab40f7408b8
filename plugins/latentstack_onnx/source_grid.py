"""Int4 exports that keep a 4-bit source's own grid instead of rounding its weights a second time.

A model converted from a 4-bit GGUF file (Q4_1, say) already holds, in every block of 32
input weights of a row, at most 16 evenly spaced values ``d * q + m``. Rounding those
again onto the builder's int4 grid loses precision that nothing forces us to lose: the
same codes fit onnxruntime's MatMulNBits exactly, as ``d * (q - 8)`` with the block's
constant ``m + 8 d`` left over. That constant, summed over each block's inputs, is a small
float matrix product (the inputs' block sums times an (out, blocks) matrix); an adapter's
merged change, when it has low rank (LoRA), rides in the same branch as its two factors,
so neither is rounded. Each MatMulNBits node becomes ``MatMulNBits(x) + (x @ U) @ V``.
The tied embedding, when it lies on an 8-bit grid (GGUF's Q8_0), keeps its codes in the
int8 LM head; the embedding lookup stays float.

``plan`` says whether a model qualifies (every projection on the grid, the adapter's change
of low rank, the embedding untouched) and ``rewrite`` changes the builder's graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import numpy as np

from latentstack.errors import LatentstackError

#: Changes when the rewrite would write different weights (cached exports carry it in their key).
VERSION = 1
BLOCK = 32
#: The builder's options for the graph the rewrite expects: symmetric int4 in blocks of 32, the LM head untied
#: and in int8, the embedding lookup in float.
#: The gate and up projections fused into one MatMul: each node carries a branch, so fewer nodes decode faster.
RECIPE = ["block_size=32", "shared_embeddings=false", "matmul_mixed_precision=last_matmul:int8",
          "fuse_mlp_gate_up=true"]
#: The builder's MatMulNBits nodes of a layer, and the torch projections each one packs.
NODES = {"attn/qkv_proj": ("self_attn", ("q_proj", "k_proj", "v_proj")), "attn/o_proj": ("self_attn", ("o_proj",)),
         "mlp/gate_up_proj": ("mlp", ("gate_proj", "up_proj")), "mlp/down_proj": ("mlp", ("down_proj",))}
#: An adapter's change is carried as factors when its rank is at most this share of the smaller side.
MAX_RANK_SHARE = 0.25


@attrs.frozen
class Grid:
    """One weight's codes in MatMulNBits' layout: packed (out, blocks, block * bits / 8), scales and offsets (out, blocks)."""

    packed: Any
    scales: Any
    offsets: Any


def _exact(got: Any, want: Any) -> bool:
    """Whether each block's values are reproduced to 1e-5 of the block's largest magnitude: float32 rounding of the
    source's own dequantisation, never a wrong code (a code is at least a fifteenth of the block's range)."""
    tol = 1e-5 * np.abs(want).max(-1, keepdims=True) + 1e-30
    return bool((np.abs(got - want) <= tol).all())


def _blocks(w: Any) -> Any:
    """``w`` (out, in) as float64 blocks (out, in / 32, 32), or None when its rows are not whole blocks."""
    out, inp = w.shape
    return None if inp % BLOCK else np.asarray(w, np.float64).reshape(out, inp // BLOCK, BLOCK)


def grid4(w: Any) -> Grid | None:
    """``w`` (out, in) as 16-level codes per block of 32 inputs, or None when it is not on such a grid.

    A block's lowest and highest values are codes 0 and 15 (a GGUF Q4_1 block always holds both); every other
    value must then be a whole number of steps above the lowest (to float precision: ``_exact``).
    """
    b = _blocks(w)
    if b is None:
        return None
    lo, hi = b.min(-1), b.max(-1)
    step = np.where(hi > lo, (hi - lo) / 15, 1.0)
    q = np.rint((b - lo[..., None]) / step[..., None])
    if not _exact(q * step[..., None] + lo[..., None], b):
        return None
    codes = q.astype(np.uint8)
    packed = codes[..., 0::2] | (codes[..., 1::2] << 4)
    return Grid(packed, step.astype(np.float32), (lo + 8 * step).astype(np.float32))


def grid8(w: Any) -> Grid | None:
    """``w`` (out, in) as symmetric 8-bit codes per block of 32 (GGUF's Q8_0: ``d * q``, ``|q| <= 127``), or None."""
    b = _blocks(w)
    if b is None:
        return None
    amax = np.abs(b).max(-1)
    step = np.where(amax > 0, amax / 127, 1.0)
    q = np.rint(b / step[..., None])
    if not _exact(q * step[..., None], b):
        return None
    return Grid((q + 128).astype(np.uint8), step.astype(np.float32), np.zeros_like(amax, np.float32))


def low_rank(delta: Any) -> tuple[Any, Any] | None:
    """Factors ``(a (in, r), b (r, out))`` with ``a @ b == delta.T`` (to float precision), r the change's rank; None
    when the rank is more than ``MAX_RANK_SHARE`` of the smaller side (a change that is not low-rank)."""
    d = np.asarray(delta, np.float64)
    if not d.any():
        return np.zeros((d.shape[1], 0), np.float32), np.zeros((0, d.shape[0]), np.float32)
    u, s, vt = np.linalg.svd(d, full_matrices=False)
    rank = int((s > s[0] * 1e-5).sum())
    if rank > MAX_RANK_SHARE * min(d.shape):
        return None
    return (vt[:rank].T).astype(np.float32), (u[:, :rank] * s[:rank]).T.astype(np.float32)


@attrs.frozen
class Branch:
    """One MatMulNBits node's grid codes and its float branch ``(x @ u) @ v``."""

    grid: Grid
    u: Any
    v: Any


def _branch(base: Any, merged: Any) -> Branch | None:
    grid = grid4(base)
    factors = None if grid is None else low_rank(merged - base)
    if grid is None or factors is None:
        return None
    a, b = factors
    inp, blocks = base.shape[1], base.shape[1] // BLOCK
    sums = np.zeros((inp, blocks), np.float32)
    sums[np.arange(inp), np.arange(inp) // BLOCK] = 1.0
    return Branch(grid, np.concatenate([sums, a], 1), np.concatenate([grid.offsets.T, b], 0))


def plan(base: dict[str, Any], merged: dict[str, Any]) -> dict[str, Branch] | None:
    """The branch of every MatMulNBits node (by node name), or None when the model does not qualify.

    ``base`` and ``merged`` are the state dicts (arrays by name) before and after the adapter was merged.
    """
    projections = {f"{module}.{p}.weight" for module, parts in NODES.values() for p in parts}
    others = [k for k in merged if k in base and ".".join(k.split(".")[3:]) not in projections]
    if any(not np.array_equal(base[k], merged[k]) for k in others):
        return None  # the adapter changed a norm, a bias, the embedding or the head: the builder reads the base
    branches: dict[str, Branch] = {}
    layers = 1 + max((int(k.split(".")[2]) for k in merged if k.startswith("model.layers.")), default=-1)
    if not layers:
        return None  # not Llama's layout (GPT-2's transformer.h...): nothing to keep
    for i in range(layers):
        for node, (module, parts) in NODES.items():
            keys = [f"model.layers.{i}.{module}.{p}.weight" for p in parts]
            if any(k not in base for k in keys):
                return None
            branch = _branch(np.concatenate([base[k] for k in keys]), np.concatenate([merged[k] for k in keys]))
            if branch is None:
                return None
            branches[f"/model/layers.{i}/{node}/MatMul_Q4"] = branch
    return branches


def head_grid(state: dict[str, Any]) -> Grid | None:
    """The LM head's 8-bit codes, when its weights (or the tied embedding) lie on such a grid."""
    w = state.get("lm_head.weight", state.get("model.embed_tokens.weight"))
    return None if w is None else grid8(w)


def rewrite(folder: Path, branches: dict[str, Branch], head: Grid | None) -> dict[str, Any]:
    """Put the codes into the builder's graph in ``folder`` and add the float branches; returns what changed."""
    import onnx
    from onnx import helper, numpy_helper

    path = Path(folder) / "model.onnx"
    model = onnx.load(str(path))
    inits = {t.name: t for t in model.graph.initializer}
    nodes: list[Any] = []
    rank = matched = 0
    for node in model.graph.node:
        nodes.append(node)
        branch = branches.get(node.name)
        if branch is None:
            continue
        matched += 1
        b_name, s_name = node.input[1], node.input[2]
        inits[b_name].CopyFrom(numpy_helper.from_array(branch.grid.packed, b_name))
        inits[s_name].CopyFrom(numpy_helper.from_array(branch.grid.scales.reshape(tuple(inits[s_name].dims)), s_name))
        del node.input[3:]  # no zero points: MatMulNBits' default, 8, centres the codes
        out, stem = node.output[0], node.name
        node.output[0] = f"{out}/grid"
        model.graph.initializer.extend([numpy_helper.from_array(branch.u, f"{stem}/branch_u"),
                                        numpy_helper.from_array(branch.v, f"{stem}/branch_v")])
        nodes += [helper.make_node("MatMul", [node.input[0], f"{stem}/branch_u"], [f"{out}/u"], name=f"{stem}/U"),
                  helper.make_node("MatMul", [f"{out}/u", f"{stem}/branch_v"], [f"{out}/v"], name=f"{stem}/V"),
                  helper.make_node("Add", [f"{out}/grid", f"{out}/v"], [out], name=f"{stem}/Add")]
        rank = max(rank, branch.u.shape[1] - branch.grid.scales.shape[1])
    if matched != len(branches):
        msg = (f"onnxruntime-genai's builder wrote {folder} without some of the MatMulNBits nodes the grid rewrite "
               "expects; export with --no-grid")
        raise LatentstackError(msg)
    if head is not None:
        _put_head(model, inits, head)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    _save(model, path)
    return {"version": VERSION, "nodes": len(branches), "adapter_rank": rank, "head_codes": head is not None}


def _put_head(model: Any, inits: dict[str, Any], head: Grid) -> None:
    from onnx import numpy_helper

    node = next(n for n in model.graph.node if n.name.startswith("/lm_head/MatMul"))
    b_name, s_name = node.input[1], node.input[2]
    inits[b_name].CopyFrom(numpy_helper.from_array(head.packed, b_name))
    inits[s_name].CopyFrom(numpy_helper.from_array(head.scales.reshape(tuple(inits[s_name].dims)), s_name))
    del node.input[3:]  # symmetric: the default zero point, 128


def _save(model: Any, path: Path) -> None:
    """Write the graph and one external data file anew (the old data file is replaced, not appended to)."""
    import onnx

    used = {i for n in model.graph.node for i in n.input}
    kept = [t for t in model.graph.initializer if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    data = path.with_name(path.name + ".data")
    data.unlink(missing_ok=True)
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=data.name,
              size_threshold=0)
