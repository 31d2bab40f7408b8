"""Where a training run keeps its work: ``OUT-checkpoints/`` holds the checkpoints a run names (an epoch's end),
the newest one of every ``save_every`` optimiser steps and the one saved when the run is stopped (Ctrl-C,
SIGTERM); each is a folder the trainer's own ``save`` writes (an adapter, a tuned model) with the training state
beside it (``latentstack.train_state``) that ``--resume`` goes on from exactly.

One keeper serves every trainer, so each keeps, prunes and announces its checkpoints the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from latentstack.progress import log, notice
from latentstack.train_state import checkpoints_of, keep_newest, load_state, save_state

SaveWeights = Callable[[Path, Mapping[str, Any]], None]  # (folder, position): write the checkpoint's weights


def _nothing() -> dict[str, Any]:
    return {}


class CheckpointKeeper:
    """Saves a run's weights (``save``) with its training state; one per run.

    ``trained`` gives the parameters the state keeps in float32 by name (none where the checkpoint's own weights
    are full precision); ``optim`` is the (optimizer, scheduler), set here or once training starts; ``what`` names
    the weights in the stop notice ("the adapter"), and ``go_on`` how a stopped run goes on, ``{where}`` standing for
    its checkpoint.
    """

    def __init__(self, out: str | Path, save: SaveWeights, go_on: str, *,
                 trained: Callable[[], Mapping[str, Any]] = _nothing, optim: tuple[Any, Any] | None = None,
                 save_every: int = 0, what: str = "the model") -> None:
        self.folder = checkpoints_of(out)
        self.save_weights, self.go_on, self.trained, self.optim = save, go_on, trained, optim
        self.save_every, self.what = save_every, what
        self.torch_rng: Any = None  # torch's random state at the last optimiser step

    def resume(self, checkpoint: str | Path, run: str) -> dict[str, Any]:
        """Load the training state saved in ``checkpoint`` (its weights are loaded already) into the trained
        parameters, the optimiser and schedule and torch's random state; the position it saved, which must be of the
        run whose ``run_digest`` is ``run``."""
        if self.optim is None:
            raise ValueError("the keeper has no optimizer to resume")
        pos = load_state(checkpoint, self.trained(), self.optim, run)
        at = [f"epoch {pos['epoch'] + 1}"] if "epoch" in pos else []
        at += [f"{key} {pos[key]}" for key in ("batch", "step") if key in pos]
        log(f"going on from {checkpoint}: {', '.join(at)}")
        return pos

    def save(self, name: str, position: Mapping[str, Any]) -> Path:
        """The checkpoint ``OUT-checkpoints/NAME``: the weights, then the training state at ``position``."""
        if self.optim is None:
            raise ValueError("the keeper has no optimizer to save")
        where = self.folder / name
        self.save_weights(where, position)
        save_state(where, self.trained(), self.optim, position, self.torch_rng)
        return where

    def mark(self) -> None:
        """Note torch's random state as the optimiser step just taken left it (what a stop saves)."""
        import torch

        self.torch_rng = torch.get_rng_state()

    def stepped(self, position: Mapping[str, Any]) -> None:
        """After each optimiser step (and its logging): note torch's random state, and every ``save_every`` steps
        save a checkpoint (the newest periodic one replaces the one before)."""
        self.mark()
        if self.save_every and self.optim is not None and position["step"] % self.save_every == 0:
            keep_newest(self.folder, "step-", self.save(f"step-{position['step']}", position))

    def interrupted(self, position: Mapping[str, Any]) -> Path | None:
        """On Ctrl-C or SIGTERM: save the weights as of the last optimiser step and say how to go on (always said:
        it is where the work went, not a status line)."""
        steps = position["step"]
        if steps == 0 or self.optim is None:
            return None
        where = self.save(f"interrupted-step-{steps}", position)
        notice(f"interrupted after {steps} optimiser step(s): {self.what} as trained so far is in {where}; go on "
               f"exactly where it stopped with {self.go_on.format(where=where)}")
        return where

