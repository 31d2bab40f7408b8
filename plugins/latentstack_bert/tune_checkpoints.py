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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from latentstack.checkpoint_keeper import CheckpointKeeper

GO_ON = ("`latentstack adapt embedder PAIRS --out OUT --resume {where}` (the same pairs), or use it as it is with "
         "--model {where}")


class TuneCheckpoints(CheckpointKeeper):
    """The keeper of an embedder tuning run, whose ``position`` (the run, the scores before, the negatives) every
    checkpoint keeps with the steps and losses so far."""

    def __init__(self, embedder: Any, out: Path, position: dict[str, Any], save_every: int = 0) -> None:
        super().__init__(out, self._save_model, GO_ON, save_every=save_every)
        self.embedder, self.position = embedder, position
        self.start = 0.0  # the perf_counter time the run would have started at, had it never stopped

    def at(self, steps: int, losses: list[float]) -> dict[str, Any]:
        """The position after ``steps`` steps."""
        seconds = round(time.perf_counter() - self.start, 1)
        return {**self.position, "step": steps, "losses": losses[:steps], "seconds": seconds}

    def _save_model(self, where: Path, position: Mapping[str, Any]) -> None:
        from latentstack_bert.tune_save import save_tuned

        save_tuned(self.embedder, where, {"checkpoint_after_steps": position["step"]})
