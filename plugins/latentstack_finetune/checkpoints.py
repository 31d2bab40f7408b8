"""Where a classifier's fine-tuning keeps its work: ``OUT-checkpoints/epoch-N`` (the newest epoch's end),
``step-N`` (the newest of every ``save_every`` optimiser steps) and ``interrupted-step-N`` (a stop's, Ctrl-C or
SIGTERM), each a classifier folder of the weights as trained so far with
the training state beside it (``latentstack.train_state``) that ``--resume`` goes on from exactly.

The state holds the trained parameters (LoRA's: a full fine-tune's are the checkpoint's own
weights, saved in float32) and, under ``best/``, the best epoch's copy of them (the one
training ends on) unless the checkpoint was saved at that epoch's end, when the weights are
that copy. So each checkpoint stands alone, each tensor kept once: only the newest epoch's is
kept. Its position holds the epoch, the batch within it, the data order's random state, the
validation history and the best score so far.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from latentstack.checkpoint_keeper import CheckpointKeeper

GO_ON = "the same `latentstack classify train` command and --resume {where}"
TRAINER = "finetune"


@attrs.define
class Keeping:
    """A run's keeper, the checkpoint it goes on from (None: a fresh run) and its ``run_digest``; ``weights`` reads
    a checkpoint's own weights into a model where they are the trained ones (a full fine-tune's), so its state keeps
    none of them."""

    keeper: CheckpointKeeper
    resume: str | None
    run: str
    weights: Callable[[Any, str], None] | None = None

    @property
    def full(self) -> bool:
        """Whether the checkpoint's own weights are the trained ones."""
        return self.weights is not None

    def position(self, pos: Mapping[str, Any]) -> dict[str, Any]:
        """``pos`` as a checkpoint keeps it: with the trainer and the run it belongs to."""
        return {**pos, "trainer": TRAINER, "run": self.run}

    def epoch_ended(self, pos: Mapping[str, Any]) -> None:
        """Keep the checkpoint of the epoch just ended, in place of the one before."""
        from latentstack.train_state import keep_newest

        where = self.keeper.save(f"epoch-{pos['epoch']}", self.position(pos))
        keep_newest(self.keeper.folder, "epoch-", where)

    def stepped(self, pos: Mapping[str, Any]) -> None:
        """After each optimiser step: note torch's random state, and keep the newest of every ``save_every``."""
        self.keeper.stepped(self.position(pos))

    def stopped(self, pos: Mapping[str, Any]) -> None:
        """Keep a stopped run's checkpoint, as of its last optimiser step, and say how to go on."""
        self.keeper.interrupted(self.position(pos))

    def saved(self) -> dict[str, Any]:
        """The position saved in the checkpoint gone on from, which must be this run's (its tensors are checked as
        they load)."""
        from latentstack.train_state import resumable

        if self.resume is None:
            raise ValueError("a fresh run goes on from no checkpoint")
        return resumable(self.resume, self.run, TRAINER)


def keeping(classifier: Any, out: str | Path, resume: str | None, run: str, save_every: int = 0) -> Keeping:
    """The checkpoints of ``classifier``'s fine-tuning into ``out``, each saved as the classifier is, going on from
    ``resume`` (None: a fresh run); the newest of every ``save_every`` steps too (0: none)."""

    def save(where: Path, _position: Mapping[str, Any]) -> None:
        classifier.save(where)

    keeper = CheckpointKeeper(out, save, GO_ON, what="the classifier", save_every=save_every)
    full = classifier.config.mode == "full"
    return Keeping(keeper, resume, run, classifier.load_full_weights if full else None)
