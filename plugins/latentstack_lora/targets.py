"""Which layers a LoRA adapter goes on: the ones named, or the model type's usual attention projections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from latentstack.errors import ConfigError, InputError

#: Types PEFT's table leaves out, with the query and value projections of their attention (transformers' names).
MORE_USUAL = {"mpnet": ("q", "v"), "distilbert": ("q_lin", "v_lin"), "modernbert": ("Wqkv",)}


def usual_targets(model: Any) -> tuple[str, ...]:
    """The query and value projections of ``model``'s attention, as PEFT chooses them when given no targets (its
    table by model type, and MORE_USUAL); a ConfigError listing the linear layers for a type neither knows."""
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as PEFT_USUAL

    kind = str(getattr(getattr(model, "config", None), "model_type", "") or "")
    usual = PEFT_USUAL.get(kind) or MORE_USUAL.get(kind)
    if not usual:
        msg = (f"no usual LoRA targets are known for a model of type {kind or type(model).__name__!r}: name the layers "
               f"to adapt with targets=... (its linear layers are: {', '.join(linear_layers(model)[:20])})")
        raise ConfigError(msg)
    return tuple(usual)


def linear_layers(model: Any) -> list[str]:
    """The last parts of the names of ``model``'s linear layers, sorted and once each."""
    import torch

    return sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)})


def check_targets(model: Any, targets: Sequence[str]) -> None:
    """Each target names a module of ``model`` (as PEFT matches them: the whole name or its last parts), or a
    ConfigError lists the model's linear layers."""
    import torch

    if not isinstance(model, torch.nn.Module):
        msg = f"an adapter attaches to a torch model (a transformers model), got {type(model).__name__}"
        raise InputError(msg)
    names = [name for name, _ in model.named_modules()]
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in names)]
    if missing:
        msg = (f"the model has no module named {', '.join(map(repr, missing))} to adapt; its linear layers are: "
               f"{', '.join(linear_layers(model)[:20])}")
        raise ConfigError(msg)
