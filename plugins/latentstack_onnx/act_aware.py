"""Activation-aware weight scaling (AWQ) of a Llama-family, Gemma or Phi-3 decoder before its int4 export.

Round-to-nearest int4 gives every weight in a block the same step, so the few input
channels that carry large activations lose as much precision as the rest although their
errors count for more. AWQ (Lin et al., 2023) multiplies those weight columns by ``s``
and folds ``1 / s`` into the op before them (the RMSNorm's weight, or the up projection's
rows for the down projection), so the float model computes the same function while the
quantised one keeps more of what matters; ``s = mean|x|^alpha`` with ``alpha`` chosen per
group to minimise the quantised outputs' error on calibration tokens (``alpha = 0`` is
plain round-to-nearest, so the error on them never grows). Only float weights change: the
builder's own quantiser runs afterwards, and ``quantize`` mirrors it (bit for bit on the
tests' random weights; on real ones an occasional tie may round the other way) so that
the search measures the error the export will have. (AWQ's weight clipping was tried on
top and left out: it did not lower the probe loss, benchmarks/results/generate-onnx.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentstack.errors import ConfigError

#: Changes when the scaling would write different weights (cached exports carry it in their key).
VERSION = 1
ALPHAS = tuple(i / 20 for i in range(20))


def quantize(w: Any, block: int) -> Any:
    """Symmetric int4 round trip of ``w`` (out, in) in blocks of ``block`` inputs, as onnxruntime's MatMulNBits.

    The block's value of largest magnitude maps to -8 exactly; the others round onto that step in [-8, 7].
    A last partial block is padded with zeros, as the quantiser pads it.
    """
    import torch

    out, inp = w.shape
    pad = -inp % block
    b = torch.nn.functional.pad(w, (0, pad)).reshape(out, (inp + pad) // block, block)
    idx = b.abs().argmax(-1, keepdim=True)
    scale = torch.gather(b, -1, idx) / -8
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    return (torch.clamp(torch.round(b / scale), -8, 7) * scale).reshape(out, inp + pad)[:, :inp]


def _groups(layer: Any) -> list[tuple[str, Any, list[Any]]]:
    """(input name, the op before whose output is scaled, the linears reading it) of one decoder layer."""
    attn, mlp = layer.self_attn, layer.mlp
    if hasattr(attn, "qkv_proj") and hasattr(mlp, "gate_up_proj"):  # Phi-3's fused projections
        return _fused_groups(layer)
    before_mlp = getattr(layer, "pre_feedforward_layernorm", None) or layer.post_attention_layernorm  # Gemma 2, 3: own
    return [("attn", layer.input_layernorm, [attn.q_proj, attn.k_proj, attn.v_proj]),
            ("mlp", before_mlp, [mlp.gate_proj, mlp.up_proj]),
            ("down", mlp.up_proj, [mlp.down_proj])]


def _fused_groups(layer: Any) -> list[tuple[str, Any, list[Any]]]:
    """Phi-3's groups: one q/k/v projection, one gate/up projection whose second half (up) comes before down."""
    from types import SimpleNamespace

    gate_up = layer.mlp.gate_up_proj
    up = SimpleNamespace(weight=gate_up.weight[gate_up.weight.shape[0] // 2:], bias=None)  # a view: scaled in place
    return [("attn", layer.input_layernorm, [layer.self_attn.qkv_proj]),
            ("mlp", layer.post_attention_layernorm, [gate_up]),
            ("down", up, [layer.mlp.down_proj])]


def supported(model: Any) -> bool:
    """True for the Llama-style layout the scaling knows (RMSNorm before q/k/v and gate/up, up before down; Gemma's
    norms, which scale by ``1 + w``, and its sandwich norms, and Phi-3's fused projections too)."""
    try:
        _groups(model.model.layers[0])
    except AttributeError:
        return False
    return True


def collect(model: Any, batches: Sequence[Any], tokens: int, seed: int = 0) -> list[dict[str, Any]]:
    """Inputs of every layer's three groups on the calibration batches (1, n), at most ``tokens`` rows of them.

    The rows are drawn at random over all batches before the forward passes, and only those are kept.
    """
    import torch

    sizes = [int(b.shape[-1]) for b in batches]
    chosen = np.zeros(sum(sizes), dtype=bool)
    chosen[np.random.default_rng(seed).permutation(len(chosen))[:tokens]] = True
    seen: list[dict[str, list[Any]]] = [{} for _ in model.model.layers]
    rows: list[Any] = []  # the rows of the batch now running

    def keeper(i: int, name: str) -> Any:
        def hook(_m: Any, args: Any) -> None:
            seen[i].setdefault(name, []).append(args[0].detach().reshape(-1, args[0].shape[-1])[rows[0]].float())
        return hook

    hooks = [linears[0].register_forward_pre_hook(keeper(i, name))
             for i, layer in enumerate(model.model.layers) for name, _, linears in _groups(layer)]
    try:
        with torch.inference_mode():
            for ids, part in zip(batches, np.split(chosen, np.cumsum(sizes)[:-1]), strict=True):
                rows[:] = [torch.from_numpy(np.flatnonzero(part))]
                model(ids)
    finally:
        for h in hooks:
            h.remove()
    return [{name: torch.cat(xs) for name, xs in layer.items()} for layer in seen]


def _error(x: Any, linears: list[Any], scale: Any, block: int) -> float:
    err = 0.0
    for lin in linears:
        w = lin.weight.data
        dq = quantize(w * scale, block) / scale
        err += float(((x @ (dq - w).T) ** 2).sum())
    return err


def best_scale(x: Any, linears: list[Any], block: int) -> tuple[Any, float, float]:
    """The per-channel scale of least quantised-output error over ``ALPHAS``; with the errors at alpha 0 and best."""
    import torch

    mean = x.abs().mean(0).clamp(min=1e-5)
    chosen = torch.ones_like(mean)
    base = best = _error(x, linears, chosen, block)  # alpha 0: plain rounding
    for alpha in ALPHAS[1:]:
        s = mean ** alpha
        s = s / (s.max() * s.min()).sqrt()
        err = _error(x, linears, s, block)
        if err < best:
            best, chosen = err, s
    return chosen, base, best


def apply_scale(before: Any, linears: list[Any], s: Any) -> None:
    """Scale the linears' input columns by ``s`` and ``before``'s output (a norm's weight, or a linear's rows) by 1/s;
    a norm that scales by ``1 + w`` (Gemma's) gets ``(1 + w) / s - 1``."""
    import torch

    with torch.no_grad():
        for lin in linears:
            lin.weight.mul_(s[None, :])
        w = before.weight
        if w.dim() == 1 and _scales_by_one_plus(before):
            w.add_(1).div_(s).sub_(1)
        elif w.dim() == 1:
            w.div_(s)
        else:
            w.div_(s[:, None])
            if getattr(before, "bias", None) is not None:
                before.bias.div_(s)


def _scales_by_one_plus(norm: Any) -> bool:
    """Whether a norm multiplies by ``1 + weight`` (Gemma's RMSNorm) rather than by ``weight``: with its weights at
    zero its output is not zero."""
    import torch

    kept = norm.weight.detach().clone()
    with torch.no_grad():
        norm.weight.zero_()
        out = norm(torch.ones(1, kept.shape[0], dtype=kept.dtype, device=kept.device))
        norm.weight.copy_(kept)
    return bool(out.abs().max() > 0)


def _check_unchanged(model: Any, ids: Any, reference: Any) -> None:
    """The scaled float model must compute what it did: a norm that is not a per-channel weight (``w`` or
    ``1 + w``) or an MLP whose up projection feeds a nonlinearity would break the folding."""
    import torch

    with torch.inference_mode():
        logits = model(ids).logits
    drift = float((logits - reference).abs().max() / reference.abs().max().clamp(min=1e-6))
    if drift > 1e-3:
        msg = (f"activation-aware scaling changed {type(model).__name__}'s float outputs (relative drift {drift:.2g}): "
               "its norms or MLP are not laid out as Llama's; export with --no-awq")
        raise ConfigError(msg)


def awq(model: Any, batches: Sequence[Any], block: int = 16, tokens: int = 2048) -> dict[str, Any]:
    """Scale ``model``'s linears in place for an int4 export in blocks of ``block``; returns the summed errors."""
    import torch

    acts = collect(model, batches, tokens)
    with torch.inference_mode():
        reference = model(batches[0]).logits
    base, scaled = 0.0, 0.0
    with torch.no_grad():
        for layer, x in zip(model.model.layers, acts, strict=True):
            for name, before, linears in _groups(layer):
                s, e0, e1 = best_scale(x[name], linears, block)
                apply_scale(before, linears, s)
                base, scaled = base + e0, scaled + e1
    _check_unchanged(model, batches[0], reference)
    return {"block": block, "tokens": min(tokens, sum(b.shape[-1] for b in batches)),
            "output_error_rtn": base, "output_error_scaled": scaled}
