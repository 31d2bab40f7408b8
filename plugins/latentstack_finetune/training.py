"""The training loop: AdamW, linear warm-up/decay, seeded shuffles, early stopping on validation macro-F1
(micro-F1 of the labels where each text has several).

A stop (Ctrl-C, SIGTERM) once an epoch has finished is early stopping by hand: the best
epoch so far is kept and training ends there, so the classifier is saved as usual (its
report says where it stopped); before the first epoch ends, a stop stops everything.

A small validation split often ties on macro-F1 (50 spam messages in SMS's); a tie is
settled by the validation cross-entropy, so a later epoch that is as right and more sure wins.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from latentstack.progress import log, notice, progress
from latentstack.training import stop_on_sigterm, warmup_then_decay


def macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Macro-averaged F1."""
    from sklearn.metrics import f1_score

    return float(f1_score(y, pred, average="macro"))


def validation_score(y: np.ndarray, proba: np.ndarray) -> tuple[float, float]:
    """(macro-F1, mean cross-entropy) of class probabilities ``proba`` against labels ``y``; where ``y`` is a
    texts x labels 0/1 array, (micro-F1 of the labels at 0.5, mean binary cross-entropy)."""
    if y.ndim == 2:
        pred, gold = proba >= 0.5, y == 1
        f1 = 2 * float((pred & gold).sum()) / max(float(pred.sum() + gold.sum()), 1.0)
        p = np.clip(proba, 1e-12, 1 - 1e-12)
        return f1, float(-np.mean(gold * np.log(p) + (~gold) * np.log(1 - p)))
    picked = proba[np.arange(len(y)), y]
    return macro_f1(y, proba.argmax(axis=1)), float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))


def better(score: tuple[float, float], best: tuple[float, float] | None) -> bool:
    """Higher macro-F1 wins; equal macro-F1 (within 1e-9) goes to the lower validation loss."""
    if best is None:
        return True
    if abs(score[0] - best[0]) > 1e-9:
        return score[0] > best[0]
    return score[1] < best[1]


def batches_for_epoch(rng: np.random.Generator, n: int, batch_size: int,
                      lengths: np.ndarray | None = None) -> list[np.ndarray]:
    """Shuffled batches of indices; with ``lengths``, batches of similar length (less padding).

    Length grouping as transformers' ``group_by_length``: shuffle, cut into mega-batches of
    50 batches, sort each by length, cut into batches, then shuffle the batches' order.
    """
    order = rng.permutation(n)
    if lengths is None:
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    mega = 50 * batch_size
    batches = []
    for a in range(0, n, mega):
        chunk = order[a : a + mega]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def train(model: Any, encode: Callable[[Sequence[str]], dict[str, Any]], texts: list[str], y: np.ndarray,
          val_texts: list[str], val_y: np.ndarray, *, epochs: int, lr: float, batch_size: int, seed: int,
          weight_decay: float, warmup: float, patience: int,
          predict_proba: Callable[[list[str]], np.ndarray], lengths: np.ndarray | None = None,
          score_start: bool = False) -> dict[str, Any]:
    """Train ``model`` (only its parameters with requires_grad); restore the best epoch's weights.

    Without a validation split every epoch counts as better and the last one is kept.
    ``lengths`` (one per training text) groups batches by length, see batches_for_epoch.
    ``score_start`` scores the weights before training too (epoch 0: a head fitted on frozen
    features), so that training which makes the validation score worse is undone.
    """
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    steps = epochs * ((len(texts) + batch_size - 1) // batch_size)
    sched = warmup_then_decay(opt, steps, warmup)
    rng = np.random.default_rng(seed)
    best, best_epoch, best_state, bad, history = None, 0, None, 0, []
    if score_start and len(val_texts):
        row: dict[str, Any] = {"epoch": 0}
        best = _validate(row, val_texts, val_y, predict_proba)
        best_state = _trained_copy(model)
        history.append(row)
    stopped = None
    for epoch in range(epochs):
        model.train()
        batches = batches_for_epoch(rng, len(texts), batch_size, lengths)
        step = _Step(model, encode, texts, y, params, opt, sched)
        try:
            with stop_on_sigterm():
                row = {"epoch": epoch + 1, "loss": step.epoch(batches, f"epoch {epoch + 1}/{epochs}")}
                score = _validate(row, val_texts, val_y, predict_proba)
        except KeyboardInterrupt:
            if best_state is None:  # no epoch finished: nothing to keep
                raise
            stopped = epoch
            break
        history.append(row)
        if score is None:  # nothing to choose by: the last epoch's weights stay (a copy, for a stop in the next)
            best_epoch = epoch + 1
            best_state = _trained_copy(model)
        elif better(score, best):
            best, best_epoch, bad = score, epoch + 1, 0
            best_state = _trained_copy(model)
        else:
            bad += 1
            if bad > patience:
                log(f"early stop after epoch {epoch + 1}")
                break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    return _result(history, best_epoch, best, val_y.ndim == 2, stopped)


def _result(history: list[dict[str, Any]], best_epoch: int, best: tuple[float, float] | None, multi_label: bool,
            stopped: int | None) -> dict[str, Any]:
    """The training report; a run ended by a stop says so (always said: what is saved is not a whole run's)."""
    key = "best_val_micro_f1" if multi_label else "best_val_macro_f1"
    out = {"history": history, "best_epoch": best_epoch, key: best[0] if best else None}
    if stopped is not None:
        notice(f"stopped during epoch {stopped + 1}: training ends here, keeping epoch {best_epoch}'s weights (the "
               "best so far); the classifier is saved as usual")
        out["stopped_during_epoch"] = stopped + 1
    return out


class _Step:
    """One optimiser step per batch, over one epoch."""

    def __init__(self, model: Any, encode: Callable[[Sequence[str]], dict[str, Any]], texts: list[str],
                 y: np.ndarray, params: list[Any], opt: Any, sched: Any) -> None:
        self.model, self.encode, self.texts, self.y = model, encode, texts, y
        self.params, self.opt, self.sched = params, opt, sched

    def epoch(self, batches: list[np.ndarray], desc: str) -> float:
        """Train on every batch; returns the mean loss."""
        import torch

        bar = progress(batches, desc=desc, unit="batch")
        losses = []
        for idx in bar:
            batch = self.encode([self.texts[i] for i in idx])
            out = self.model(**batch, labels=torch.as_tensor(self.y[idx], device=next(iter(batch.values())).device))
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(self.params, 1.0)
            self.opt.step()
            self.sched.step()
            self.opt.zero_grad()
            losses.append(float(out.loss.detach()))
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        return float(np.mean(losses))


def _validate(row: dict[str, Any], val_texts: list[str], val_y: np.ndarray,
              predict_proba: Callable[[list[str]], np.ndarray]) -> tuple[float, float] | None:
    """Score the epoch on the validation split (None without one) and log it into ``row``."""
    said = f"epoch {row['epoch']}: loss {row['loss']:.4f}" if "loss" in row else "before training"
    if not len(val_texts):
        log(f"{said} (no validation split)")
        return None
    score = validation_score(val_y, predict_proba(val_texts))
    name = "micro_f1" if val_y.ndim == 2 else "macro_f1"
    row |= {f"val_{name}": score[0], "val_loss": score[1]}
    log(f"{said}, validation {name.replace('_f1', '-F1')} {score[0]:.4f}, loss {score[1]:.4f}")
    return score


def _trained_copy(model: Any) -> dict[str, Any]:
    """A copy of the tensors training changes."""
    return copy.deepcopy({k: v for k, v in model.state_dict().items() if _trained(k, model)})


def _trained(key: str, model: Any) -> bool:
    """Only keep copies of tensors that training can change (all of them for full fine-tuning)."""
    names = getattr(model, "_latentstack_trained", None)
    return names is None or key in names
