"""Where an embedder tuning keeps its work: ``OUT-checkpoints/`` holds the newest model of every ``save_every``
steps and the one saved when the run is stopped (Ctrl-C, SIGTERM), each a tuned folder with the training state
(``latentstack.train_state``) that ``--resume`` goes on from exactly.

The weights themselves are the folder's (float32, as trained), so the state holds the
optimiser, the schedule, torch's random state and the position: the step reached, the
losses so far, the held-out scores before training and the mined negatives (the
starting model's, which the resumed run no longer has).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from latentstack.progress import notice
from latentstack.train_state import checkpoints_of, keep_newest, load_state, save_state


class TuneCheckpoints:
    """Saves the embedder under training with its state; one per run."""

    def __init__(self, embedder: Any, out: Path, position: dict[str, Any], save_every: int = 0) -> None:
        self.embedder, self.position, self.save_every = embedder, position, save_every
        self.folder = checkpoints_of(out)
        self.optim: tuple[Any, Any] | None = None  # (optimizer, scheduler), once training starts
        self.torch_rng: Any = None  # torch's random state at the last optimiser step
        self.start = 0.0  # the perf_counter time the run would have started at, had it never stopped

    def resume(self, checkpoint: str | Path, optim: tuple[Any, Any]) -> dict[str, Any]:
        """Load ``checkpoint``'s optimiser, schedule and random state (its weights are loaded already)."""
        self.optim = optim
        return load_state(checkpoint, {}, optim, self.position["run"])

    def save(self, name: str, steps: int, losses: list[float], optim: tuple[Any, Any]) -> Path:
        """The tuned folder ``OUT-checkpoints/NAME`` with the training state after ``steps`` steps."""
        from latentstack_bert.tune_save import save_tuned

        where = self.folder / name
        save_tuned(self.embedder, where, {"checkpoint_after_steps": steps})
        seconds = round(time.perf_counter() - self.start, 1)
        save_state(where, {}, optim, {**self.position, "step": steps, "losses": losses, "seconds": seconds},
                   self.torch_rng)
        return where

    def stepped(self, steps: int, losses: list[float]) -> None:
        """After each optimiser step: note torch's random state; every ``save_every`` steps keep the newest."""
        import torch

        self.torch_rng = torch.get_rng_state()
        if self.save_every and steps % self.save_every == 0 and self.optim is not None:
            keep_newest(self.folder, "step-", self.save(f"step-{steps}", steps, losses, self.optim))

    def interrupted(self, steps: int, losses: list[float]) -> None:
        """On Ctrl-C or SIGTERM: keep the model as of the last step and say how to go on (always said: it is where
        the work went, not a status line)."""
        if steps == 0 or self.optim is None:
            return
        where = self.save(f"interrupted-step-{steps}", steps, losses[:steps], self.optim)
        notice(f"interrupted after {steps} optimiser step(s): the model as trained so far is in {where}; go on "
               f"exactly where it stopped with `latentstack adapt embedder PAIRS --out OUT --resume {where}` (the same "
               f"pairs), or use it as it is with --model {where}")
