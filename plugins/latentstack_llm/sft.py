"""Supervised fine-tuning of a causal LM with LoRA: loss on the reply tokens only (or a plain text's every token).

Each example is chat messages whose last one is the assistant's reply, or a plain text
(TRL's language-modelling form: its tokens and an end-of-text token, cut into rows of
``max_length``, every token trained on). The prompt
(everything up to the reply) is tokenised through the chat template and masked out of
the loss (label -100), as is padding; the reply ends with the template's end-of-turn
token so the model learns to stop. AdamW over the adapter weights, linear warm-up and
decay, gradient accumulation, gradient clipping, seeded shuffles, and the adapter saved
after every epoch, every ``save_every`` steps and when the run is stopped (Ctrl-C, SIGTERM),
with the training state to go on from exactly (``checkpoints``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from latentstack.chat_template import for_template
from latentstack.data.sft import split_examples
from latentstack.errors import InputError
from latentstack.hf import check_chat_model, lm_parts
from latentstack.interfaces.base import Config, names
from latentstack.progress import log, progress

Example = list[dict[str, str]] | str  # chat messages, or a plain text
SAVE_DTYPES = ("float32", "bfloat16", "float16")  # what the lora adapter can save its weights as
ALL_LINEAR = ("all-linear",)  # every linear layer of the body (Llama's q_proj ... down_proj), never the LM head


@attrs.frozen(kw_only=True)
class SftConfig(Config):
    """Adapter shape and training schedule."""

    rank: int = attrs.field(default=16, validator=attrs.validators.gt(0))  # 16 beat 8 on held-out F1 (docs/post-training.md)
    alpha: float = attrs.field(default=32.0, validator=attrs.validators.gt(0))
    #: 0 lets PEFT skip a dropout copy of every adapted input: faster, less memory (docs)
    dropout: float = attrs.field(default=0.0, validator=[attrs.validators.ge(0.0), attrs.validators.lt(1.0)])
    targets: tuple[str, ...] = attrs.field(default=ALL_LINEAR, converter=names)
    epochs: int = attrs.field(default=1, validator=attrs.validators.gt(0))
    lr: float = attrs.field(default=1e-3, validator=attrs.validators.gt(0))
    batch_size: int = attrs.field(default=4, validator=attrs.validators.gt(0))
    grad_accum: int = attrs.field(default=1, validator=attrs.validators.gt(0))
    warmup: float = attrs.field(default=0.06, validator=[attrs.validators.ge(0.0), attrs.validators.lt(1.0)])
    max_length: int = attrs.field(default=512, validator=attrs.validators.gt(8))
    seed: int = 0
    mode: str = attrs.field(default="lora", validator=attrs.validators.in_(("lora", "full")))
    save_dtype: str = attrs.field(default="bfloat16", validator=attrs.validators.in_(SAVE_DTYPES))
    init_adapter: str = ""  # go on training this saved adapter (its own rank and targets) instead of a fresh one
    #: Share of the prompts held out (seeded) for the loss on unseen examples after each epoch; 0: none.
    holdout: float = attrs.field(default=0.0, validator=[attrs.validators.ge(0.0), attrs.validators.lt(1.0)])


def encode_example(tokenizer: Any, messages: list[dict[str, str]], max_length: int) -> tuple[list[int], list[int]]:
    """Token ids and labels (-100 on the prompt) for one example; the prompt is cut from the left if too long."""
    check_chat_model(tokenizer)
    messages = for_template(tokenizer, messages)
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    if not full.startswith(prompt):
        msg = "the chat template does not extend the prompt with the reply; cannot mask the prompt"
        raise InputError(msg)
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    reply = full[len(prompt):].rstrip("\n")  # "<answer><|im_end|>"
    r_ids = tokenizer(reply, add_special_tokens=False)["input_ids"]
    if len(r_ids) >= max_length:
        r_ids = r_ids[: max_length // 2]
    p_ids = p_ids[-(max_length - len(r_ids)):]
    return p_ids + r_ids, [-100] * len(p_ids) + r_ids


def encode_rows(tokenizer: Any, example: list[dict[str, str]] | str, max_length: int) -> list[tuple[list[int], list[int]]]:
    """The training rows of one example: a chat example's one row (``encode_example``), or a plain text's tokens and
    an end-of-text token, every one trained on, cut into rows of at most ``max_length`` tokens."""
    if not isinstance(example, str):
        return [encode_example(tokenizer, example, max_length)]
    ids = [*tokenizer(example, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]
    return [(ids[i: i + max_length], ids[i: i + max_length]) for i in range(0, len(ids), max_length)
            if len(ids[i: i + max_length]) > 1]  # a row of one token predicts nothing


def collate(rows: list[tuple[list[int], list[int]]], pad_id: int | None) -> dict[str, Any]:
    """Right-padded batch; padding masked in attention and loss (so a tokenizer without a padding token, GPT-2's or
    a base Llama 3's, pads with id 0)."""
    import torch

    pad_id = 0 if pad_id is None else pad_id
    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (x, y) in enumerate(rows):
        ids[i, : len(x)], labels[i, : len(y)], mask[i, : len(x)] = torch.tensor(x), torch.tensor(y), 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def length_batches(lengths: list[int], size: int, rng: Any) -> list[Any]:
    """Shuffled batches of examples of similar length (little padding): sort within shuffled pools of 16 batches."""
    import numpy as np

    order = rng.permutation(len(lengths))
    pool = size * 16
    batches = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i: i + pool], key=lambda j: lengths[j])
        batches += [np.array(chunk[k: k + size]) for k in range(0, len(chunk), size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def reply_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Next-token cross-entropy on the reply tokens only, running the LM head on those positions alone.

    The same value as ``model(**batch).loss``, without the (batch x length x vocab) logits
    of the prompt that the loss ignores anyway.
    """
    import torch

    body, head = lm_parts(model)
    hidden = body(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    targets = batch["labels"][:, 1:]
    keep = targets != -100
    logits = head(hidden[:, :-1][keep])
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep])


def prepare_model(generator: Any, config: SftConfig, resume: str | Path | None = None) -> tuple[Any, Any]:
    """The generator's model made trainable: a fresh LoRA adapter, the ``init_adapter`` or the checkpoint to
    ``resume`` from (or all weights for ``full``); the KV cache its last answer left is dropped, as the weights that
    computed it change."""
    from latentstack import get_adapter

    generator.prefix.clear()
    model = generator.adapters.model
    if config.mode == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        return model, None
    start = resume or config.init_adapter
    if start:
        saved = get_adapter("lora").saved_options(start)
        lora = get_adapter("lora", **saved)
        return lora.load(model, start, generator.resolved.fingerprint(), trainable=True), lora
    lora = get_adapter("lora", rank=config.rank, alpha=config.alpha, dropout=config.dropout,
                                 targets=config.targets)
    return lora.attach(model), lora


def train_sft(generator: Any, examples: Sequence[Example], out: str | Path, config: SftConfig,
              max_steps: int | None = None, *, resume: str | Path | None = None, save_every: int = 0,
              eval_examples: Sequence[Example] = ()) -> dict[str, Any]:
    """Fine-tune ``generator``'s model on ``examples`` (chat examples, or plain texts: ``encode_rows``); save the
    adapter to ``out``.

    The held-out share of the prompts (``config.holdout``) and ``eval_examples`` are not
    trained on: the loss on them (``eval_loss``) is measured after each epoch.

    Each epoch's adapter goes to ``OUT-checkpoints/epoch-N``, the newest of every
    ``save_every`` optimiser steps to ``step-N``, a stopped run's to ``interrupted-step-N``,
    each with the training state that ``resume`` (one of them) goes on from exactly. With
    ``max_steps`` (a measurement run) nothing is saved. The generator's model is changed in place. A second run
    into the same ``out`` at once is refused (``locks.sole_writer``).
    """
    from latentstack.locks import sole_writer

    with sole_writer(out, "another training run"):
        return _train(generator, examples, Path(out), config, max_steps, resume=resume, save_every=save_every,
                      eval_examples=eval_examples)


def _train(generator: Any, examples: Sequence[Example], out: Path, config: SftConfig, max_steps: int | None, *,
           resume: str | Path | None, save_every: int, eval_examples: Sequence[Example]) -> dict[str, Any]:
    import numpy as np
    import torch

    from latentstack.train_state import run_digest
    from latentstack.training import seed_everything, warmup_then_decay
    from latentstack_llm.checkpoints import adapter_keeper

    seed_everything(config.seed)
    tok = generator.tokenizer
    train, held = split_examples(list(examples), config.holdout, config.seed)
    held = [*held, *eval_examples]
    rows, held_rows = (_rows(tok, part, config.max_length) for part in (train, held))
    model, lora = prepare_model(generator, config, resume)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    trainable, total = sum(p.numel() for p in params), sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.0)
    steps = max_steps or config.epochs * -(-len(rows) // (config.batch_size * config.grad_accum))
    sched = warmup_then_decay(opt, steps, config.warmup)
    rng = np.random.default_rng(config.seed)
    keeper = None if lora is None or max_steps else adapter_keeper(
        "sft", out, (lora, model), (generator.resolved.fingerprint(), config.save_dtype), (opt, sched), save_every)
    pos = {"trainer": "sft", "run": run_digest([*rows, "held out:", *held_rows], attrs.asdict(config)),
           "model": generator.config.model, "config": attrs.asdict(config), "epoch": 0, "batch": 0, "step": 0, "losses": [], "history": [],
           "seconds": 0.0, "rng": rng.bit_generator.state}  # rng: the state that draws the epoch's batches
    if resume and keeper:
        pos = keeper.resume(resume, pos["run"])
    start = time.perf_counter() - pos["seconds"]
    for _ in range(pos["epoch"], config.epochs):
        rng.bit_generator.state = pos["rng"]
        batches = length_batches([len(r[0]) for r in rows], config.batch_size, rng)
        held_loss = _run_epoch(model, (rows, held_rows), batches, tok.pad_token_id, (params, opt, sched), config, pos,
                               keeper, max_steps, start)
        _end_epoch(pos, rng.bit_generator.state, keeper, start, held_loss)
        if max_steps and pos["step"] >= max_steps:
            break
    model.eval()
    report = {"examples": len(train), "rows": len(rows), "trainable_params": trainable, "total_params": total,
              "train_s": round(time.perf_counter() - start, 1), "history": pos["history"],
              "config": attrs.asdict(config)}
    if held_rows:
        report |= {"eval_examples": len(held), "best_epoch": min(pos["history"], key=lambda h: h["eval_loss"])["epoch"]}
    if lora is not None and not max_steps:
        _save_final((lora, model), out, (generator.resolved.fingerprint(), config.save_dtype), report)
    return report


def _save_final(trained: tuple[Any, Any], out: Path, saving: tuple[str, str], report: dict[str, Any]) -> None:
    """The (lora, model) adapter saved at ``out`` with the training report; its bytes added to the report."""
    from latentstack.storage import attach_json

    lora, model = trained
    lora.save(model, out, base_fingerprint=saving[0], dtype=saving[1])
    attach_json(out, "training.json", report)
    report["adapter_bytes"] = sum(f.stat().st_size for f in out.glob("adapter_model.*"))


def _end_epoch(pos: dict[str, Any], rng_state: Any, keeper: Any, start: float, held_loss: float | None) -> None:
    """Log the epoch's mean loss (and the held-out one), move ``pos`` to the next epoch, and keep the epoch's
    checkpoint."""
    import numpy as np

    epoch = pos["epoch"] + 1
    entry = {"epoch": epoch, "loss": float(np.mean(pos["losses"])), "steps": pos["step"],
             "seconds": round(time.perf_counter() - start, 1)}
    if held_loss is not None:
        entry["eval_loss"] = round(held_loss, 6)
    pos["history"].append(entry)
    log(f"epoch {epoch}: mean loss {entry['loss']:.4f}" + (f", held-out loss {held_loss:.4f}" if held_loss is not None else ""))
    pos.update(epoch=epoch, batch=0, losses=[], rng=rng_state)
    if keeper:
        keeper.save(f"epoch-{epoch}", _saved(pos, start))


def _rows(tokenizer: Any, examples: Sequence[Example], max_length: int) -> list[tuple[list[int], list[int]]]:
    return [row for example in examples for row in encode_rows(tokenizer, example, max_length)]


def eval_loss(model: Any, rows: list[Any], batch_size: int, pad_id: int | None) -> float:
    """The mean loss per trained token of ``rows`` (``reply_loss``'s tokens), without training."""
    import torch

    was_training = model.training
    model.eval()
    total, tokens = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(rows), batch_size):
            batch = collate(rows[i: i + batch_size], pad_id)
            n = int((batch["labels"][:, 1:] != -100).sum())
            total += float(reply_loss(model, {k: v.to(model.device) for k, v in batch.items()})) * n
            tokens += n
    model.train(was_training)
    return total / max(tokens, 1)


def _saved(pos: dict[str, Any], start: float) -> dict[str, Any]:
    """The position as of the last optimiser step: the losses of the batches before it, the seconds so far."""
    return {**pos, "losses": pos["losses"][: pos["batch"]], "seconds": round(time.perf_counter() - start, 1)}


def _run_epoch(model: Any, data: tuple[list[Any], list[Any]], batches: list[Any], pad_id: int,
               optim: tuple[Any, Any, Any], config: SftConfig, pos: dict[str, Any], keeper: Any, max_steps: int | None,
               start: float) -> float | None:
    """One epoch's batches of the training rows from ``pos["batch"]`` on, then the loss on the held-out rows (None
    without any); a stop (Ctrl-C, SIGTERM) keeps the adapter as of the last optimiser step with its training state."""
    from latentstack.training import stop_on_sigterm

    rows, held_rows = data
    bar = progress(range(pos["batch"], len(batches)), desc=f"sft epoch {pos['epoch'] + 1}/{config.epochs}",
                   unit="batch", total=len(batches), initial=pos["batch"])
    try:
        with stop_on_sigterm():
            _epoch(model, rows, (batches, bar), pad_id, optim, config, pos, keeper, max_steps, start)
            return eval_loss(model, held_rows, config.batch_size, pad_id) if held_rows else None
    except KeyboardInterrupt:
        if keeper:
            keeper.interrupted(_saved(pos, start))
        raise


def _epoch(model: Any, rows: list[Any], batches: tuple[list[Any], Any], pad_id: int, optim: tuple[Any, Any, Any],
           config: SftConfig, pos: dict[str, Any], keeper: Any, max_steps: int | None, start: float) -> None:
    """The batches (gradient accumulation, clipping); ``pos`` follows each optimiser step."""
    import numpy as np
    import torch

    from latentstack.training import whole_step

    params, opt, sched = optim
    order, bar = batches
    for b in bar:
        batch = collate([rows[i] for i in order[b]], pad_id)
        loss = reply_loss(model, {k: v.to(model.device) for k, v in batch.items()})
        (loss / config.grad_accum).backward()
        pos["losses"].append(float(loss.detach()))
        if (b + 1) % config.grad_accum == 0 or b + 1 == len(order):
            with whole_step():
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
                pos["step"] += 1
                pos["batch"] = b + 1
                if keeper:
                    keeper.stepped(_saved(pos, start))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{np.mean(pos['losses'][-10:]):.3f}", step=pos["step"])
        if max_steps and pos["step"] >= max_steps:
            break


def model_bytes(generator: Any) -> int:
    """Bytes of the base model's weight files."""
    return sum(f.stat().st_size for f in Path(generator.resolved.path).glob("*.safetensors"))

