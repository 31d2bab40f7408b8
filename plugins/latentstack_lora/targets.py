"""Which layers a LoRA adapter goes on: the ones named, every linear layer of the body (``all-linear``), or the
model type's usual attention projections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from latentstack.errors import ConfigError, InputError

#: Types PEFT's table leaves out, with the query and value projections of their attention (transformers' names).
MORE_USUAL = {"mpnet": ("q", "v"), "distilbert": ("q_lin", "v_lin"), "modernbert": ("Wqkv",)}
#: PEFT's word for every linear layer but the head's.
ALL_LINEAR = "all-linear"


def resolve_targets(model: Any, targets: Sequence[str]) -> tuple[str, ...]:
    """The layers to adapt: ``targets`` as named (each checked), every linear layer of the body for ``all-linear``,
    or the usual query and value projections for none."""
    import torch

    if not isinstance(model, torch.nn.Module):
        msg = f"an adapter attaches to a torch model (a transformers model), got {type(model).__name__}"
        raise InputError(msg)
    if ALL_LINEAR in targets:
        if len(targets) > 1:
            msg = f"targets={ALL_LINEAR} stands alone (it names every linear layer); drop {', '.join(targets[1:])}"
            raise ConfigError(msg)
        return all_linear(model)
    check_targets(model, targets)
    return tuple(targets) or usual_targets(model)


def all_linear(model: Any) -> tuple[str, ...]:
    """The last parts of the names of the linear layers (torch's and GPT-2's Conv1D) of ``model``'s body, as PEFT's
    ``all-linear`` takes them: not the head on it (a causal LM's ``lm_head``, a classifier's ``score``); a layer whose
    last part a head shares is given whole."""
    heads = _head_names(model)

    def in_head(name: str) -> bool:
        return any(name == h or name.startswith(h + ".") for h in heads)

    inside = [n for n, m in model.named_modules() if isinstance(m, _linear_kinds()) and not in_head(n)]
    if not inside:
        msg = f"{type(model).__name__} has no linear layer outside its head to adapt"
        raise ConfigError(msg)
    shared = {_last(n) for n, _ in model.named_modules() if in_head(n)}
    return tuple(sorted({n if _last(n) in shared else _last(n) for n in inside}))


def conv1d_targets(model: Any, targets: Sequence[str]) -> bool:
    """Whether the layers ``targets`` name are GPT-2's Conv1D, whose weight is stored transposed (PEFT's
    ``fan_in_fan_out``)."""
    from transformers.pytorch_utils import Conv1D

    return any(isinstance(m, Conv1D) for n, m in model.named_modules() if any(_names(n, t) for t in targets))


def _names(module: str, target: str) -> bool:
    """Whether ``target`` names the module called ``module``, as PEFT matches them (the whole name or its last parts)."""
    return module == target or module.endswith("." + target)


def _last(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def _head_names(model: Any) -> set[str]:
    """The names of the modules of a transformers model outside its base model (its heads), and its output layer."""
    from latentstack.hf import head_children

    heads = set(head_children(model))
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return heads | {n for n, m in model.named_modules() if output is not None and m is output}


def _linear_kinds() -> tuple[type, ...]:
    import torch
    from transformers.pytorch_utils import Conv1D

    return (torch.nn.Linear, Conv1D)


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
    """The last parts of the names of ``model``'s linear layers (Conv1D ones too), sorted and once each."""
    return sorted({_last(n) for n, m in model.named_modules() if isinstance(m, _linear_kinds())})


def check_targets(model: Any, targets: Sequence[str]) -> None:
    """Each target names a module of ``model`` (``_names``), or a ConfigError lists the model's linear layers."""
    modules = [name for name, _ in model.named_modules()]
    missing = [t for t in targets if not any(_names(n, t) for n in modules)]
    if missing:
        msg = (f"the model has no module named {', '.join(map(repr, missing))} to adapt; its linear layers are: "
               f"{', '.join(linear_layers(model)[:20])}")
        raise ConfigError(msg)
