"""DPO on a LoRA adapter, against the frozen starting policy, with held-out metrics and a KL estimate.

The reference is the starting policy: the ``init_adapter`` (the SFT adapter) when given,
else the base model (a fresh LoRA adapter starts as the identity); ``reference_adapter``
names another (``"base"``: the base model, for going on from a run that began fresh).
Its log-probs of every pair's replies, and its distributions over the held-out chosen
replies, are computed once before training, so no second copy of the model is held
while the policy trains.
Log-probs cover the reply tokens only (the prompt is masked, as in SFT). Each logged
step records TRL's metric names on the training batches since the last log and, with an
``eval_`` prefix, on the held-out pairs, plus ``kl``: KL(policy || reference) summed over
the positions of each held-out chosen reply (teacher-forced) and averaged over them.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from latentstack.data.prefs import Pair
from latentstack.interfaces.base import Config, names
from latentstack.progress import log, progress
from latentstack.training import stop_on_sigterm, whole_step
from latentstack_llm.dpo_loss import LOSSES
from latentstack_llm.sft import ALL_LINEAR, SAVE_DTYPES, SftConfig

BASE = "base"  # as the reference adapter: the base model itself (a folder named so is ./base)
KL_PAIRS = 32  # held-out pairs whose reference distributions are kept for the KL estimate


@attrs.frozen(kw_only=True)
class DpoConfig(Config):
    """The leash (beta, loss), the adapter, and the schedule."""

    beta: float = attrs.field(default=0.1, validator=attrs.validators.gt(0))
    loss: str = attrs.field(default="sigmoid", validator=attrs.validators.in_(LOSSES))
    sft_weight: float = attrs.field(default=0.0, validator=attrs.validators.ge(0))  # TRL's "sft" loss type beside it
    init_adapter: str = ""
    reference_adapter: str = ""  # default: the init adapter (the starting policy); BASE: the base model
    rank: int = attrs.field(default=16, validator=attrs.validators.gt(0))
    alpha: float = attrs.field(default=32.0, validator=attrs.validators.gt(0))
    targets: tuple[str, ...] = attrs.field(default=ALL_LINEAR, converter=names)
    epochs: int = attrs.field(default=1, validator=attrs.validators.gt(0))
    steps: int = attrs.field(default=0, validator=attrs.validators.ge(0))  # 0: every batch of every epoch
    lr: float = attrs.field(default=5e-5, validator=attrs.validators.gt(0))
    batch_size: int = attrs.field(default=4, validator=attrs.validators.gt(0))
    warmup: float = attrs.field(default=0.1, validator=[attrs.validators.ge(0.0), attrs.validators.lt(1.0)])
    max_length: int = attrs.field(default=768, validator=attrs.validators.gt(8))
    heldout: float = attrs.field(default=0.1, validator=[attrs.validators.ge(0), attrs.validators.lt(1)])
    log_every: int = attrs.field(default=10, validator=attrs.validators.gt(0))
    seed: int = 0
    save_dtype: str = attrs.field(default="bfloat16", validator=attrs.validators.in_(SAVE_DTYPES))

    @property
    def reference(self) -> str:
        """The adapter whose policy is the reference ('' for the base model)."""
        if self.reference_adapter == BASE:
            return ""
        return self.reference_adapter or self.init_adapter


Encoded = tuple[Any, Any, Any]  # prompt ids, chosen reply ids, rejected reply ids (1-d tensors)


def encode_pairs(tokenizer: Any, pairs: Sequence[Pair], max_length: int) -> list[Encoded]:
    """Each pair as its prompt's ids and its two replies' ids (end-of-turn included); the prompt cut from the left."""
    import torch

    from latentstack_llm.sft import encode_example

    out = []
    for p in pairs:
        rows = [encode_example(tokenizer, [*p.prompt, {"role": "assistant", "content": reply}], max_length)
                for reply in (p.chosen, p.rejected)]
        replies = [[t for t in labels if t != -100] for _, labels in rows]
        prompt = rows[0][0][: len(rows[0][0]) - len(replies[0])]
        prompt = prompt[-(max_length - max(map(len, replies))):]
        out.append((torch.tensor(prompt), torch.tensor(replies[0]), torch.tensor(replies[1])))
    return out


def pair_logps(model: Any, rows: Sequence[Encoded], average: bool) -> tuple[Any, Any]:
    """(chosen, rejected) reply log-probs of encoded pairs, each prompt run once for both replies."""
    import torch

    from latentstack_llm.dpo_loss import gathered, reply_token_logps

    chosen, rejected = [], []
    for prompt, c, r in rows:
        lc, lr = reply_token_logps(model, prompt.to(model.device), [c.to(model.device), r.to(model.device)])
        chosen.append(gathered(lc, c.to(model.device), average))
        rejected.append(gathered(lr, r.to(model.device), average))
    return torch.stack(chosen), torch.stack(rejected)


def chosen_distributions(model: Any, row: Encoded) -> Any:
    """Log-softmax rows at each token of the pair's chosen reply."""
    from latentstack_llm.dpo_loss import reply_token_logps

    return reply_token_logps(model, row[0].to(model.device), [row[1].to(model.device)])[0]


def reference_pass(model: Any, rows: Sequence[Encoded], kl_rows: Sequence[Encoded], config: DpoConfig) -> dict[str, Any]:
    """The reference's log-probs of every pair (in batches) and its distributions over the KL rows."""
    import torch

    chosen, rejected = [], []
    with torch.inference_mode():
        for i in progress(range(0, len(rows), config.batch_size), desc="reference log-probs", unit="batch"):
            c, r = pair_logps(model, rows[i: i + config.batch_size], config.loss == "ipo")
            chosen.append(c)
            rejected.append(r)
        dists = [chosen_distributions(model, row) for row in kl_rows]
    empty = torch.zeros(0)  # clones below: plain tensors the training graph may use (not inference tensors)
    return {"chosen": torch.cat(chosen).clone() if chosen else empty,
            "rejected": torch.cat(rejected).clone() if rejected else empty, "dists": dists}


def load_reference(model_name: str, config: DpoConfig, rows: Sequence[Any], kl_rows: Sequence[Any]) -> dict[str, Any]:
    """The reference policy's pass, from a model loaded for it alone and freed before training."""
    from latentstack_llm.generator import LlmGenerator

    ref = LlmGenerator.from_options(model=model_name, adapter=config.reference)
    ref.model.eval()
    with ref.adapters.base_context():
        out = reference_pass(ref.model, rows, kl_rows, config)
    del ref
    gc.collect()
    return out


def train_dpo(generator: Any, pairs: Sequence[Pair], out: str | Path, config: DpoConfig,
              data: dict[str, Any] | None = None, *, resume: str | Path | None = None,
              save_every: int = 0) -> dict[str, Any]:
    """Train ``generator``'s model by DPO on ``pairs``; save the adapter under ``out``, and in ``OUT-checkpoints`` each
    epoch's, the newest of every ``save_every`` steps and a stopped run's, each with the training state that
    ``resume`` (one of them) goes on from exactly.

    ``data`` (where the pairs came from, how they were filtered) is kept in the report as given. A second run into
    the same ``out`` at once is refused (``locks.sole_writer``).
    """
    from latentstack.locks import sole_writer

    with sole_writer(out, "another training run"):
        return _train(generator, pairs, Path(out), config, data, resume=resume, save_every=save_every)


def _train(generator: Any, pairs: Sequence[Pair], out: Path, config: DpoConfig, data: dict[str, Any] | None, *,
           resume: str | Path | None, save_every: int) -> dict[str, Any]:
    import numpy as np
    import torch

    from latentstack.data.prefs import split_pairs
    from latentstack.train_state import run_digest
    from latentstack.training import seed_everything, warmup_then_decay
    from latentstack_llm.checkpoints import adapter_keeper
    from latentstack_llm.sft import length_batches, prepare_model

    seed_everything(config.seed)
    train, held = split_pairs(pairs, config.heldout, config.seed)
    tok = generator.tokenizer
    rows, held_rows = encode_pairs(tok, train, config.max_length), encode_pairs(tok, held, config.max_length)
    kl_rows = held_rows[:KL_PAIRS]
    ref = load_reference(generator.config.model, config, rows + held_rows, kl_rows)
    n = len(rows)
    ref_train, ref_held = (ref["chosen"][:n], ref["rejected"][:n]), (ref["chosen"][n:], ref["rejected"][n:])
    model, lora = prepare_model(generator, SftConfig(rank=config.rank, alpha=config.alpha, targets=config.targets,
                                                     init_adapter=config.init_adapter), resume)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.0)
    per_epoch = -(-len(rows) // config.batch_size)
    steps = config.steps or config.epochs * per_epoch
    sched = warmup_then_decay(opt, steps, config.warmup)
    rng = np.random.default_rng(config.seed)
    loop = Loop(model, config, (params, opt, sched), rows, ref_train,
                (held_rows, ref_held, kl_rows, ref["dists"]))
    fingerprint = generator.resolved.fingerprint()
    loop.keeper = adapter_keeper("dpo", out, (lora, model), (fingerprint, config.save_dtype), (opt, sched), save_every)
    encoded = [[t.tolist() for t in row] for row in rows + held_rows]  # what the run trains and evaluates on
    pos = {"trainer": "dpo", "run": run_digest(encoded, attrs.asdict(config)), "model": generator.config.model,
           "config": attrs.asdict(config), "data": data or {}, "epoch": 0, "batch": 0,
           "rng": rng.bit_generator.state}  # rng: the state that draws the epoch's batches
    if resume:
        pos = loop.resume(resume, pos, steps)
    for epoch in range(pos["epoch"], -(-steps // per_epoch)):
        rng.bit_generator.state = pos["rng"]
        loop.run_epoch(length_batches([len(p) for p, _, _ in rows], config.batch_size, rng), pos, steps)
        pos.update(epoch=epoch + 1, batch=0, rng=rng.bit_generator.state)
        loop.keeper.save(f"epoch-{epoch + 1}", loop.position(pos))
    model.eval()
    final = loop.history[-1] if loop.history else loop.evaluate()  # the last step is always logged
    report = {"pairs": len(train), "heldout_pairs": len(held), "steps": loop.step,
              "train_s": round(time.perf_counter() - loop.start, 1), "final": final, "history": loop.history,
              "config": attrs.asdict(config), "data": data or {}}
    lora.save(model, out, base_fingerprint=fingerprint, dtype=config.save_dtype)
    from latentstack.storage import attach_json

    attach_json(out, "training.json", report)
    return report


class Loop:
    """The optimisation steps, the logging, and the held-out evaluation."""

    def __init__(self, model: Any, config: DpoConfig, optim: tuple[Any, Any, Any], rows: list[Any],
                 ref: tuple[Any, Any], held: tuple[Any, Any, Any, Any]) -> None:
        self.model, self.config, self.optim = model, config, optim
        self.rows, self.ref, self.held = rows, ref, held
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.window: list[dict[str, float]] = []
        self.keeper: Any = None  # the run's CheckpointKeeper
        self.start = time.perf_counter()

    def position(self, pos: dict[str, Any]) -> dict[str, Any]:
        """``pos`` (epoch, batch, data order) with the steps, logs and seconds so far: what a checkpoint keeps."""
        return {**pos, "step": self.step, "history": self.history, "window": self.window,
                "seconds": round(time.perf_counter() - self.start, 1)}

    def resume(self, checkpoint: str | Path, pos: dict[str, Any], steps: int) -> dict[str, Any]:
        """Go on from ``checkpoint``'s training state (its adapter is loaded already); the position it saved."""
        saved = self.keeper.resume(checkpoint, pos["run"])
        self.step, self.history, self.window = saved["step"], saved["history"], saved["window"]
        self.start = time.perf_counter() - saved["seconds"]
        if self.window and (self.step % self.config.log_every == 0 or self.step == steps):  # stopped while logging
            self._log(saved["epoch"])
        return saved

    def _losses(self, idx: Any, rows: list[Any], ref: tuple[Any, Any]) -> tuple[Any, Any, Any]:
        """Per-pair losses (the SFT term, when weighted, spread evenly over the pairs) and implicit rewards."""
        import torch

        from latentstack_llm.dpo_loss import dpo_losses, sft_loss

        batch = [rows[i] for i in idx.tolist()]
        average = self.config.loss == "ipo"
        chosen, rejected = pair_logps(self.model, batch, average)
        losses, cr, rr = dpo_losses(chosen, rejected, ref[0][idx], ref[1][idx], self.config.beta, self.config.loss)
        if self.config.sft_weight:
            lengths = torch.tensor([len(c) for _, c, _ in batch], dtype=chosen.dtype, device=chosen.device)
            nll = sft_loss(chosen * lengths if average else chosen, lengths)
            losses = losses + self.config.sft_weight * nll
        return losses, cr, rr

    def run_epoch(self, batches: list[Any], pos: dict[str, Any], steps: int) -> None:
        """``epoch``; a stop (Ctrl-C, SIGTERM) keeps the adapter as of the last step with its training state."""
        try:
            with stop_on_sigterm():
                self.epoch(batches, pos, steps)
        except KeyboardInterrupt:
            self.keeper.interrupted(self.position(pos))
            raise

    def epoch(self, batches: list[Any], pos: dict[str, Any], steps: int) -> None:
        """The epoch's batches from ``pos["batch"]`` on (stopping at ``steps``), logging every ``log_every`` steps."""
        import torch

        from latentstack_llm.dpo_loss import metrics

        params, opt, sched = self.optim
        self.model.train()
        epoch = pos["epoch"]
        bar = progress(range(pos["batch"], len(batches)), desc=f"dpo epoch {epoch + 1}", unit="batch",
                       total=len(batches), initial=pos["batch"])
        for b in bar:
            if self.step >= steps:
                break
            losses, cr, rr = self._losses(torch.as_tensor(batches[b]), self.rows, self.ref)
            losses.mean().backward()
            with whole_step():  # a stop from the step on keeps it, with its position
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
                self.step, pos["batch"] = self.step + 1, b + 1
                self.window.append(metrics(losses.detach(), cr, rr))
                self.keeper.mark()
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{self.window[-1]['loss']:.3f}", step=self.step)
            if self.step % self.config.log_every == 0 or self.step == steps:
                self._log(epoch)
            self.keeper.stepped(self.position(pos))

    def _log(self, epoch: int) -> None:
        import numpy as np

        train = {k: round(float(np.mean([w[k] for w in self.window])), 4) for k in self.window[0]}
        entry = {"step": self.step, "epoch": epoch + 1, **train, **self.evaluate()}
        self.window = []  # only now: a stop during the evaluation keeps the window, and resuming logs it
        self.history.append(entry)
        held = (f", held-out accuracy {entry['eval_rewards/accuracies']}, margin {entry['eval_rewards/margins']}, "
                f"kl {entry['kl']}" if "kl" in entry else "")
        log(f"dpo step {self.step}: loss {entry['loss']:.4f}, margin {entry['rewards/margins']:.4f}{held}")
        self.model.train()

    def evaluate(self) -> dict[str, float]:
        """TRL's metrics on the held-out pairs (``eval_`` names) and the KL estimate."""
        import torch

        from latentstack_llm.dpo_loss import metrics, token_kl

        rows, ref, kl_rows, dists = self.held
        if not rows:
            return {}
        self.model.eval()
        parts = []
        with torch.inference_mode():
            for i in range(0, len(rows), self.config.batch_size):
                parts.append(self._losses(torch.arange(i, min(i + self.config.batch_size, len(rows))), rows, ref))
            kls = [float(token_kl(chosen_distributions(self.model, row), d).sum())
                   for row, d in zip(kl_rows, dists, strict=True)]
        joined = [torch.cat([p[j] for p in parts]) for j in range(3)]
        out = {f"eval_{k}": round(v, 4) for k, v in metrics(*joined).items()}
        out["kl"] = round(sum(kls) / len(kls), 4) if kls else 0.0
        return out
