"""Where a LoRA training run (sft, dpo) keeps its work: ``OUT-checkpoints/`` holds each epoch's adapter, the newest
one saved every ``save_every`` optimiser steps, and the one saved when the run is stopped (Ctrl-C or SIGTERM), each
with the training state to go on from (``latentstack.train_state``) with ``--resume``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from latentstack.progress import notice
from latentstack.train_state import checkpoints_of, keep_newest, load_state, save_state

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


class Checkpointer:
    """Saves a (lora, model) adapter with its training state; one per run."""

    def __init__(self, out: Path, trained: tuple[Any, Any], saving: tuple[str, str], optim: tuple[Any, Any],
                 save_every: int = 0) -> None:
        self.folder = checkpoints_of(out)
        self.lora, self.model = trained
        self.saving, self.optim, self.save_every = saving, optim, save_every
        self.torch_rng: Any = None  # torch's random state at the last optimiser step

    def trainable(self) -> dict[str, Any]:
        return {name: p for name, p in self.model.named_parameters() if p.requires_grad}

    def resume(self, checkpoint: str | Path, run: str) -> dict[str, Any]:
        """Load the training state saved in ``checkpoint`` (the adapter is loaded already); its position."""
        from latentstack.progress import log

        pos = load_state(checkpoint, self.trainable(), self.optim, run)
        log(f"going on from {checkpoint}: epoch {pos['epoch'] + 1}, batch {pos['batch']}, step {pos['step']}")
        return pos

    def save(self, name: str, position: dict[str, Any]) -> Path:
        where = self.folder / name
        self.lora.save(self.model, where, base_fingerprint=self.saving[0], dtype=self.saving[1])
        save_state(where, self.trainable(), self.optim, position, self.torch_rng)
        return where

    def mark(self) -> None:
        """Note torch's random state as the optimiser step just taken left it (what a stop saves)."""
        import torch

        self.torch_rng = torch.get_rng_state()

    def stepped(self, position: dict[str, Any]) -> None:
        """After each optimiser step (and its logging): note torch's random state, and save every ``save_every``
        steps (the newest periodic checkpoint replaces the one before)."""
        self.mark()
        if self.save_every and position["step"] % self.save_every == 0:
            keep_newest(self.folder, "step-", self.save(f"step-{position['step']}", position))

    def interrupted(self, position: dict[str, Any], command: str) -> None:
        """On Ctrl-C or SIGTERM: save the adapter as of the last optimiser step and say how to go on (always said:
        it is where the work went, not a status line)."""
        if position["step"] == 0:
            return
        where = self.save(f"interrupted-step-{position['step']}", position)
        notice(f"interrupted after {position['step']} optimiser step(s): the adapter as trained so far is in {where}; "
               f"go on exactly where it stopped with `{command} --resume {where}` (the same data)")
