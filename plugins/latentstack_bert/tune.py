"""Fine-tuning an encoder as an embedder on (anchor, positive[, negatives]) pairs.

The loss is sentence-transformers' MultipleNegativesRankingLoss: each anchor's cosine to its
positive, scaled, against its cosines to every other text of the batch (the other anchors'
positives and every hard negative) under cross-entropy. Batches hold no text twice, so no
anchor is pushed away from its own positive written again. Every weight trains, as sentence-transformers
trains; the texts are embedded as the ``bert`` embedder embeds them (its prompts, pooling, length and Dense
modules), through the embedder itself, so the tuned folder gives at search time what training optimised.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from latentstack.data.text_pairs import TextPair
from latentstack.errors import InputError
from latentstack.progress import progress
from latentstack_bert.embedder import BertEmbedder


@attrs.frozen(kw_only=True)
class TuneConfig:
    """What to tune and how; ``pooling`` and ``max_length`` as the ``bert`` embedder reads them."""

    model: str = "minilm"
    pooling: str = "auto"
    max_length: int | None = None
    epochs: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    batch_size: int = attrs.field(default=32, validator=attrs.validators.ge(2))
    lr: float = attrs.field(default=2e-5, validator=attrs.validators.gt(0))
    warmup: float = attrs.field(default=0.1, validator=[attrs.validators.ge(0), attrs.validators.lt(1)])
    #: The cosines' scale before the softmax (sentence-transformers' default; a temperature of 0.05).
    scale: float = attrs.field(default=20.0, validator=attrs.validators.gt(0))
    #: Hard negatives mined for each pair by the model before training (``tune_mining``); 0: none.
    negatives: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    seed: int = 0


def batches(pairs: Sequence[TextPair], size: int, seed: int) -> list[list[TextPair]]:
    """``pairs`` shuffled (seeded) into batches of up to ``size`` in which no text appears twice: a pair whose
    texts are in the batch already waits for a later one (sentence-transformers' NoDuplicatesBatchSampler)."""
    waiting = list(pairs)
    random.Random(seed).shuffle(waiting)
    out: list[list[TextPair]] = []
    while waiting:
        batch: list[TextPair] = []
        seen: set[str] = set()
        later: list[TextPair] = []
        for i, pair in enumerate(waiting):
            if len(batch) == size:
                later.extend(waiting[i:])
                break
            texts = {pair.anchor, pair.positive, *pair.negatives}
            if not texts & seen and len(texts) == 2 + len(pair.negatives):
                batch.append(pair)
                seen |= texts
            else:
                later.append(pair)
        if not batch:  # a pair repeating its own text can never join a batch without it twice: take it alone
            batch, later = [later[0]], later[1:]
        out.append(batch)
        waiting = later
    return out


def ranking_loss(anchors: Any, candidates: Any, scale: float) -> Any:
    """Cross-entropy of each anchor's scaled cosines to ``candidates``, whose first rows are the anchors'
    positives in order (the rest: hard negatives)."""
    import torch

    a = torch.nn.functional.normalize(anchors, dim=-1)
    c = torch.nn.functional.normalize(candidates, dim=-1)
    scores = a @ c.T * scale
    return torch.nn.functional.cross_entropy(scores, torch.arange(len(a), device=scores.device))


class Tuner:
    """The embedder under training: its model in train mode, texts tokenised as it tokenises them."""

    def __init__(self, embedder: BertEmbedder, config: TuneConfig, keeper: Any = None) -> None:
        self.embedder = embedder
        self.config = config
        self.keeper = keeper  # the run's TuneCheckpoints, if it keeps any
        self.steps = 0  # optimiser steps taken so far
        self.losses: list[float] = []  # each step's loss

    def vectors(self, texts: Sequence[str], kind: str) -> Any:
        """Pooled vectors of ``texts`` prompted as ``kind``, with gradients."""
        emb = self.embedder
        return emb.encode_ids(emb.text_ids(emb.prompted(texts, kind)))

    def step_loss(self, batch: list[TextPair]) -> Any:
        """The batch's ranking loss: anchors against every positive and hard negative in it."""
        anchors = self.vectors([p.anchor for p in batch], "query")
        candidates = [p.positive for p in batch] + [n for p in batch for n in p.negatives]
        return ranking_loss(anchors, self.vectors(candidates, "document"), self.config.scale)

    def train(self, pairs: Sequence[TextPair], resume: str | Path | None = None) -> list[float]:
        """Every epoch's batches in turn (AdamW, warm-up then linear decay), from where the run that saved the
        checkpoint ``resume`` stopped; each step's loss."""
        import torch

        from latentstack.training import seed_everything, warmup_then_decay, whole_step

        c = self.config
        seed_everything(c.seed)
        plan = [b for epoch in range(c.epochs) for b in batches(pairs, c.batch_size, c.seed + epoch)]
        if all(len(b) == 1 and not b[0].negatives for b in plan):
            msg = (f"the {len(pairs)} pair(s) to train on make only batches of one pair without a negative, from "
                   "which nothing is learnt (each anchor is told apart from the other texts of its batch): give more "
                   "pairs with different positives, or negatives")
            raise InputError(msg)
        model = self.embedder.model.train()
        for param in model.parameters():
            param.requires_grad_(True)
        opt = torch.optim.AdamW(model.parameters(), lr=c.lr)
        schedule = warmup_then_decay(opt, len(plan), c.warmup)
        if self.keeper:
            self.keeper.optim = (opt, schedule)
        if resume:
            saved = self.keeper.resume(resume, self.keeper.position["run"])
            self.steps, self.losses = saved["step"], saved["losses"]
        bar = progress(plan[self.steps:], desc="tuning", unit="batch", total=len(plan), initial=self.steps)
        for batch in bar:
            loss = self.step_loss(batch)
            opt.zero_grad()
            loss.backward()
            with whole_step():
                opt.step()
                schedule.step()
                self.losses.append(loss.item())
                self.steps += 1
                if self.keeper:
                    self.keeper.stepped(self.keeper.at(self.steps, self.losses))
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{sum(self.losses[-10:]) / len(self.losses[-10:]):.3f}")
        model.eval()
        return self.losses


def tuned_embedder(config: TuneConfig, weights: str | Path | None = None) -> BertEmbedder:
    """The ``bert`` embedder of ``config.model`` (or of the checkpoint folder ``weights``) in float32, the precision
    it trains in, its model loaded now: loaded by its first embedding, inside torch's inference mode, its weights
    could not be trained."""
    embedder = BertEmbedder.from_options(model=str(weights or config.model), pooling=config.pooling,
                                         max_length=config.max_length, dtype="float32")
    _ = embedder.model
    return embedder


def tune_embedder(pairs: Sequence[TextPair], out: Path, config: TuneConfig, holdout: float = 0.1, *,
                  resume: str | Path | None = None, save_every: int = 0) -> dict[str, Any]:
    """Train on ``pairs`` and save the tuned folder at ``out``; the report it records.

    A seeded ``holdout`` share of the anchors is set aside first (``tune_eval.split_by_anchor``); their
    positives are searched for among every text of the pairs before and after training. The newest model of every
    ``save_every`` steps and a stopped run's are kept in ``OUT-checkpoints`` with the training state that
    ``resume`` (one of them) goes on from exactly. A second run into the same ``out`` at once is refused
    (``locks.sole_writer``).
    """
    from latentstack.locks import sole_writer

    with sole_writer(out, "another training run"):
        return _tune(pairs, Path(out), config, holdout, resume=resume, save_every=save_every)


def _tune(pairs: Sequence[TextPair], out: Path, config: TuneConfig, holdout: float, *, resume: str | Path | None,
          save_every: int) -> dict[str, Any]:
    import time

    from latentstack.training import stop_on_sigterm
    from latentstack_bert.tune_checkpoints import TuneCheckpoints
    from latentstack_bert.tune_eval import corpus_of, found, split_by_anchor
    from latentstack_bert.tune_save import save_tuned

    train, held = split_by_anchor(pairs, holdout, config.seed)
    embedder = tuned_embedder(config, resume)
    corpus = corpus_of(pairs)
    position = _start(embedder, (pairs, train, held, corpus), config, holdout, resume)
    train = [TextPair(p.anchor, p.positive, tuple(corpus[i] for i in negs)) for p, negs in zip(train, position["negatives"], strict=True)]
    keeper = TuneCheckpoints(embedder, out, position, save_every)
    start = keeper.start = time.perf_counter() - position.get("seconds", 0.0)
    tuner = Tuner(embedder, config, keeper)
    try:
        with stop_on_sigterm():
            losses = tuner.train(train, resume)
            after = found(embedder, held, corpus) if held else None
    except KeyboardInterrupt:
        keeper.interrupted(keeper.at(tuner.steps, tuner.losses))
        raise
    report: dict[str, Any] = {"pairs": len(train), "negatives": sum(len(p.negatives) for p in train),
                              "steps": len(losses), "train_s": round(time.perf_counter() - start, 1),
                              "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4),
                              "options": attrs.asdict(config)}
    if after is not None:
        report["held_out"] = {"anchors": after.anchors, "texts": after.texts, "before": position["before"],
                              "after": after.to_dict()}
    save_tuned(embedder, out, report)
    return report


def _start(embedder: BertEmbedder, data: tuple[Any, ...], config: TuneConfig, holdout: float,
           resume: str | Path | None) -> dict[str, Any]:
    """What the run keeps from before training: the held-out scores of the starting model, and each training pair's
    negatives (mined by the starting model, or named) as places in the corpus; read back from ``resume``."""
    from latentstack.train_state import resumable, run_digest
    from latentstack_bert.tune_eval import found
    from latentstack_bert.tune_mining import with_mined_negatives

    pairs, train, held, corpus = data
    run = run_digest([[p.anchor, p.positive, list(p.negatives)] for p in pairs],
                     {**attrs.asdict(config), "holdout": holdout})
    if resume:
        return resumable(resume, run)
    if held or config.negatives:  # the starting model's corpus vectors, for the check before and the mining both
        docs = embedder.embed_many(corpus, kind="document")
    if config.negatives:
        train = with_mined_negatives(embedder, train, corpus, docs, config.negatives)
    where = {text: i for i, text in enumerate(corpus)}
    return {"trainer": "embedder", "run": run, "config": attrs.asdict(config), "holdout": holdout,
            "before": found(embedder, held, corpus, docs).to_dict() if held else None,
            "negatives": [[where[n] for n in p.negatives] for p in train]}
