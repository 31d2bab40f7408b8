"""sentence-transformers' Dense modules as one float32 torch module, applied to pooled vectors."""

from __future__ import annotations

import importlib
from pathlib import Path

import torch

from latentstack_bert.st_dense import Projection, refuse


class Dense(torch.nn.Module):
    """activation(linear(x)), plus x (or its projection) where the module has a residual, as sentence-transformers'."""

    def __init__(self, projection: Projection, weights: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(projection.in_features, projection.out_features, bias=projection.bias)
        self.linear.weight = torch.nn.Parameter(weights["linear.weight"], requires_grad=False)
        if projection.bias:
            self.linear.bias = torch.nn.Parameter(weights["linear.bias"], requires_grad=False)
        self.activation = _activation(projection)
        self.residual = projection.residual
        self.shortcut: torch.nn.Linear | None = None
        if "residual.weight" in weights:
            self.shortcut = torch.nn.Linear(projection.in_features, projection.out_features, bias=False)
            self.shortcut.weight = torch.nn.Parameter(weights["residual.weight"], requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.activation(self.linear(x))
        if self.residual:
            out = out + (x if self.shortcut is None else self.shortcut(x))
        return out


def dense_head(projections: tuple[Projection, ...]) -> torch.nn.Module:
    """The projections in order as one module in eval mode, their weights read and checked against their sizes."""
    return torch.nn.Sequential(*(Dense(p, _weights(p)) for p in projections)).eval()


def _activation(projection: Projection) -> torch.nn.Module:
    """An instance of the configured ``torch.nn`` activation class (a name that is none is refused)."""
    module_name, _, name = projection.activation.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError):
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        refuse(projection.folder, f"activation_function {projection.activation!r} names no torch.nn module")
    return cls()


def _weights(projection: Projection) -> dict[str, torch.Tensor]:
    """The module's tensors (``linear.weight``, ``linear.bias``, ``residual.weight``), their shapes checked."""
    tensors, p = _read_tensors(projection.folder), projection
    shapes: dict[str, tuple[int, ...]] = {"linear.weight": (p.out_features, p.in_features)}
    if p.bias:
        shapes["linear.bias"] = (p.out_features,)
    if p.residual and p.in_features != p.out_features:
        shapes["residual.weight"] = (p.out_features, p.in_features)
    for key, shape in shapes.items():
        found = tuple(tensors[key].shape) if key in tensors else None
        if found != shape:
            refuse(p.folder, f"its weights have {key} {found or 'missing'} where config.json says {shape}: restore "
                             "the folder the model came with")
    return {key: tensors[key].float() for key in shapes}


def _read_tensors(folder: Path) -> dict[str, torch.Tensor]:
    """``model.safetensors``, else (older releases) ``pytorch_model.bin`` read as tensors only (``weights_only``)."""
    safetensors, legacy = folder / "model.safetensors", folder / "pytorch_model.bin"
    if not safetensors.is_file() and not legacy.is_file():
        refuse(folder, "it has no model.safetensors or pytorch_model.bin: restore the folder the model came with")
    try:
        if safetensors.is_file():
            from safetensors.torch import load_file

            return dict(load_file(str(safetensors)))
        return dict(torch.load(legacy, map_location="cpu", weights_only=True))
    except Exception as exc:  # noqa: BLE001 - a damaged file, whatever its reader raises
        refuse(folder, f"its weights cannot be read ({type(exc).__name__}: {exc}): restore the folder the model "
                       "came with")
