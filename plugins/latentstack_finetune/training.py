"""The training loop: AdamW, linear warm-up/decay, seeded shuffles, early stopping on validation macro-F1
(micro-F1 of the labels where each text has several).

A stop (Ctrl-C, SIGTERM) once an epoch has finished is early stopping by hand: the best
epoch so far is kept and training ends there, so the classifier is saved as usual (its
report says where it stopped); before the first epoch ends, a stop stops everything. A run
that keeps checkpoints (checkpoints.py) also keeps a stop's, which it can go on from exactly.

A small validation split often ties on macro-F1 (50 spam messages in SMS's); a tie is
settled by the validation cross-entropy, so a later epoch that is as right and more sure wins.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from latentstack.progress import log, notice, progress
from latentstack.training import stop_on_sigterm, warmup_then_decay, whole_step
from latentstack_finetune.checkpoints import Keeping


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
          score_start: bool = False, keeping: Keeping | None = None) -> dict[str, Any]:
    """Train ``model`` (only its parameters with requires_grad); restore the best epoch's weights.

    Without a validation split every epoch counts as better and the last one is kept.
    ``lengths`` (one per training text) groups batches by length, see batches_for_epoch.
    ``score_start`` scores the weights before training too (epoch 0: a head fitted on frozen
    features), so that training which makes the validation score worse is undone.
    ``keeping`` keeps each epoch's and a stop's checkpoint (checkpoints.py) and goes on from one.
    """
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    sched = warmup_then_decay(opt, epochs * -(-len(texts) // batch_size), warmup)
    rng = np.random.default_rng(seed)
    run = _Run(model, (val_texts, val_y, predict_proba), patience, keeping)
    pos = run.begin((opt, sched), rng.bit_generator.state, score_start)
    step, stopped = _Step(model, encode, texts, y, params, opt, sched), None
    while pos["epoch"] < epochs and not pos["ended"]:
        model.train()
        rng.bit_generator.state = pos["rng"]
        batches = batches_for_epoch(rng, len(texts), batch_size, lengths)
        try:
            with stop_on_sigterm():
                step.epoch(batches, pos, f"epoch {pos['epoch'] + 1}/{epochs}", keeping)
                row = {"epoch": pos["epoch"] + 1, "loss": float(np.mean(pos["losses"]))}
                score = _validate(row, *run.val)
        except KeyboardInterrupt:
            if keeping is not None:
                keeping.stopped(pos)
            if run.best is None:  # no epoch finished: nothing to keep
                raise
            stopped = pos["epoch"]
            break
        pos.update(epoch=row["epoch"], batch=0, losses=[], rng=rng.bit_generator.state)
        run.ended(row, score)
    if run.best is not None:
        model.load_state_dict(run.best, strict=False)
    return _result(pos["history"], pos["best_epoch"], pos["best"], val_y.ndim == 2, stopped)


class _Run:
    """A run's position (what a checkpoint keeps as JSON: epoch, batch, steps, the data order's random state,
    history, best score) and the best epoch's weights."""

    def __init__(self, model: Any, val: tuple[list[str], np.ndarray, Callable[[list[str]], np.ndarray]],
                 patience: int, keeping: Keeping | None) -> None:
        self.model, self.val, self.patience, self.keeping = model, val, patience, keeping
        self.best: dict[str, Any] | None = None  # the best epoch's trained tensors
        self.pos: dict[str, Any] = {}

    def begin(self, optim: tuple[Any, Any], rng_state: Mapping[str, Any], score_start: bool) -> dict[str, Any]:
        """The position to start at: a fresh run's (epoch 0 scored where ``score_start``), or the one gone on from."""
        self.pos = {"epoch": 0, "batch": 0, "step": 0, "losses": [], "rng": rng_state, "history": [], "best": None,
                    "best_epoch": None, "bad": 0, "ended": False}
        keeping = self.keeping
        if keeping is not None:
            keeping.keeper.optim, keeping.keeper.trained = optim, self._kept
            if keeping.resume is not None:
                return self._resumed(keeping, keeping.resume)
        if score_start and len(self.val[0]):
            row: dict[str, Any] = {"epoch": 0}
            self.pos["best"] = list(_validate(row, *self.val) or ())
            self.pos["history"].append(row)
            self._best_now(0)
            if keeping is not None:
                keeping.epoch_ended(self.pos)
        return self.pos

    def _resumed(self, keeping: Keeping, checkpoint: str) -> dict[str, Any]:
        """Go on from ``checkpoint``: the weights (a full fine-tune's from the checkpoint's own), the best
        epoch's copy (from the state, or the weights when kept at that epoch's end), the optimiser and position."""
        self.pos = keeping.saved()
        if keeping.weights is not None:
            keeping.weights(self.model, checkpoint)
        now = self._best_is_now()
        in_state = self.pos["best_epoch"] is not None and not now
        self.best = _trained_copy(self.model) if in_state else None  # its names, filled from the state next
        self.pos = keeping.keeper.resume(checkpoint, keeping.run)  # the state, as ``_kept`` names it
        if now:
            self.best = _trained_copy(self.model)
        return self.pos

    def _best_is_now(self) -> bool:
        """Whether the weights are the best epoch's: at its end, before another step."""
        pos = self.pos
        return pos["best_epoch"] is not None and pos["best_epoch"] == pos["epoch"] and pos["batch"] == 0

    def ended(self, row: dict[str, Any], score: tuple[float, float] | None) -> None:
        """Choose by the epoch just ended (``row``, its validation ``score``), then keep its checkpoint."""
        pos = self.pos
        pos["history"].append(row)
        if score is None:  # nothing to choose by: the last epoch's weights stay (a copy, for a stop in the next)
            self._best_now(row["epoch"])
        elif better(score, pos["best"]):
            pos.update(best=list(score), bad=0)
            self._best_now(row["epoch"])
        else:
            pos["bad"] += 1
            if pos["bad"] > self.patience:
                log(f"early stop after epoch {row['epoch']}")
                pos["ended"] = True
        if self.keeping is not None:
            self.keeping.epoch_ended(pos)

    def _best_now(self, epoch: int) -> None:
        self.pos["best_epoch"] = epoch
        self.best = _trained_copy(self.model)

    def _kept(self) -> dict[str, Any]:
        """What a checkpoint's state keeps by name: the trained parameters (none where the checkpoint's own weights
        are them), and the best epoch's under best/ (none where the weights are the best)."""
        full = self.keeping is not None and self.keeping.full
        trained = {} if full else {name: p for name, p in self.model.named_parameters() if p.requires_grad}
        best = {} if self._best_is_now() else self.best or {}
        return {**trained, **{f"best/{name}": t for name, t in best.items()}}


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

    def epoch(self, batches: list[np.ndarray], pos: dict[str, Any], desc: str, keeping: Keeping | None) -> None:
        """Train on the batches from ``pos["batch"]`` on; ``pos`` follows each step (batch, step, losses)."""
        bar = progress(range(pos["batch"], len(batches)), desc=desc, unit="batch", total=len(batches),
                       initial=pos["batch"])
        for b in bar:
            loss = self.loss(batches[b])
            with whole_step():
                self.take()
                pos["losses"].append(loss)
                pos["step"] += 1
                pos["batch"] = b + 1
                if keeping is not None:
                    keeping.stepped(pos)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{np.mean(pos['losses'][-20:]):.4f}")

    def loss(self, idx: np.ndarray) -> float:
        """The loss on the texts ``idx``, its gradients taken."""
        import torch

        batch = self.encode([self.texts[i] for i in idx])
        out = self.model(**batch, labels=torch.as_tensor(self.y[idx], device=next(iter(batch.values())).device))
        out.loss.backward()
        return float(out.loss.detach())

    def take(self) -> None:
        """The optimiser step those gradients ask for."""
        import torch

        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        self.sched.step()
        self.opt.zero_grad()


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
