"""Where a LoRA training run (sft, dpo) keeps its work: ``OUT-checkpoints/`` holds each epoch's adapter, the newest
one saved every ``save_every`` optimiser steps, and the one saved when the run is stopped (Ctrl-C or SIGTERM), each
with the training state to go on from (``latentstack.train_state``) with ``--resume``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from latentstack.checkpoint_keeper import CheckpointKeeper

C = TypeVar("C")


def resumed_run(checkpoint: str, trainer: str, make: Callable[..., C], options: Sequence[str]) -> tuple[str, C]:
    """The model and settings (``make(**saved)``) of the ``trainer`` run that saved ``checkpoint``; the command's
    ``options`` that would change them, typed, are refused."""
    import click

    from latentstack.train_state import resumed_position

    saved = resumed_position(checkpoint, trainer, options)
    try:
        return str(saved["model"]), make(**saved["config"])
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"the training state in {checkpoint} is damaged ({exc}); start afresh from its weights with --init-adapter"
        raise click.UsageError(msg) from exc


def adapter_keeper(command: str, out: Path, trained: tuple[Any, Any], saving: tuple[str, str],
                   optim: tuple[Any, Any], save_every: int = 0) -> CheckpointKeeper:
    """The keeper of a (lora, model) run's checkpoints (``latentstack adapt COMMAND``): the adapter saved as
    ``saving`` (base fingerprint, dtype), its trainable parameters in float32 in the state."""
    lora, model = trained

    def save(where: Path, position: Mapping[str, Any]) -> None:
        lora.save(model, where, base_fingerprint=saving[0], dtype=saving[1])

    def trainable() -> dict[str, Any]:
        return {name: p for name, p in model.named_parameters() if p.requires_grad}

    go_on = f"`latentstack adapt {command} --data DATA --out OUT --resume {{where}}` (the same data)"
    return CheckpointKeeper(out, save, go_on, trained=trainable, optim=optim, save_every=save_every,
                            what="the adapter")

