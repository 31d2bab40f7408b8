"""Methods of the label-efficiency suite that train the encoder itself on each draw: LoRA fine-tuning through the
registry, and SetFit (contrastive fine-tuning of the same sentence encoder, then a logistic head) as a peer."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Sequence
from typing import Any


def has_setfit() -> bool:
    """Whether the ``setfit`` package (the bench extra) can be imported."""
    import importlib.util

    return importlib.util.find_spec("setfit") is not None


def finetune_lora(model: str, texts: Sequence[str], labels: Sequence[str], test: Sequence[str], seed: int,
                  probe: bool = True) -> list[str]:
    """The ``finetune`` classifier in LoRA mode, with its own defaults (or ``head="random"``: ``probe`` False),
    trained on the draw."""
    from latentstack import get_classifier

    clf = get_classifier("finetune", mode="lora", rank=8, model=model, seed=seed, head="probe" if probe else "random")
    return list(clf.fit(list(texts), list(labels)).predict(list(test)))


#: SetFit's pair sampling: each text gives one positive and one negative pair per iteration.
SETFIT_ITERATIONS, SETFIT_BATCH = 20, 16


def setfit_steps(texts: int, cap: int) -> int:
    """Steps of one epoch over SetFit's pairs (2 x iterations x texts, 16 a step), at most ``cap``.

    The cap has to be given as this number, not as SetFit's ``max_steps`` alone: the trainer
    underneath goes round the pairs again until ``max_steps`` is reached, so a small draw would
    train for the whole cap instead of its one epoch.
    """
    return max(1, min(cap, -(-2 * SETFIT_ITERATIONS * texts // SETFIT_BATCH)))


def setfit(model: str, texts: Sequence[str], labels: Sequence[str], test: Sequence[str], seed: int, *,
           max_steps: int, show_progress: bool) -> list[str]:
    """SetFit with its default pair sampling (20 iterations), one epoch, at most ``max_steps`` steps of 16 pairs; its
    logistic head class-balanced like the other methods' heads."""
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    from latentstack.hf import quiet_transformers
    from latentstack.sources import resolve_model

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    quiet_transformers()
    classes = sorted(set(labels))
    body = SetFitModel.from_pretrained(str(resolve_model(model).path), head_params={"class_weight": "balanced"})
    with tempfile.TemporaryDirectory(prefix="latentstack-setfit-") as tmp:
        args = TrainingArguments(output_dir=tmp, batch_size=SETFIT_BATCH, num_epochs=1, num_iterations=SETFIT_ITERATIONS,
                                 max_steps=setfit_steps(len(texts), max_steps),
                                 seed=seed, save_strategy="no", report_to="none", logging_strategy="no",
                                 show_progress_bar=show_progress)
        data = Dataset.from_dict({"text": list(texts), "label": [classes.index(c) for c in labels]})
        with contextlib.redirect_stdout(sys.stderr):  # the trainer prints its logs; stdout carries --json alone
            Trainer(model=body, args=args, train_dataset=data).train()
    pred: Any = body.predict(list(test), batch_size=64, show_progress_bar=False)
    return [classes[int(i)] for i in pred]
