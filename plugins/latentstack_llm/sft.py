"""Supervised fine-tuning of a causal LM with LoRA: loss on the reply tokens only (or a plain text's every token).

Each example is chat messages whose last one is the assistant's reply, or a plain text
(TRL's language-modelling form: its tokens and an end-of-text token, cut into rows of
``max_length``, every token trained on). The prompt
(everything up to the reply) is tokenised through the chat template and masked out of
the loss (label -100), as is padding; the reply ends with the template's end-of-turn
token so the model learns to stop. AdamW over the adapter weights, linear warm-up and
decay, gradient accumulation, gradient clipping, seeded shuffles, and the adapter
saved (only the adapter) after every epoch, and when the run is interrupted (Ctrl-C).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import attrs

from latentstack.chat_template import for_template
from latentstack.errors import InputError
from latentstack.hf import check_chat_model, lm_parts
from latentstack.interfaces.base import Config, names
from latentstack.progress import log, notice, progress

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


def prepare_model(generator: Any, config: SftConfig) -> tuple[Any, Any]:
    """The generator's model made trainable: a fresh LoRA adapter (or all weights for ``full``); the KV cache its
    last answer left is dropped, as the weights that computed it change."""
    from latentstack import get_adapter

    generator.prefix.clear()
    model = generator.adapters.model
    if config.mode == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        return model, None
    if config.init_adapter:
        saved = get_adapter("lora").saved_options(config.init_adapter)
        lora = get_adapter("lora", **saved)
        return lora.load(model, config.init_adapter, generator.resolved.fingerprint(), trainable=True), lora
    lora = get_adapter("lora", rank=config.rank, alpha=config.alpha, dropout=config.dropout,
                                 targets=config.targets)
    return lora.attach(model), lora


def train_sft(generator: Any, examples: list[list[dict[str, str]]] | list[list[dict[str, str]] | str], out: str | Path,
              config: SftConfig, max_steps: int | None = None) -> dict[str, Any]:
    """Fine-tune ``generator``'s model on ``examples`` (chat examples, or plain texts: ``encode_rows``); save the
    adapter to ``out``.

    Each epoch's adapter goes to ``OUT-checkpoints/epoch-N``. With ``max_steps`` (a
    measurement run) nothing is saved. The generator's model is changed in place.
    """
    import numpy as np
    import torch

    from latentstack.training import seed_everything, warmup_then_decay

    seed_everything(config.seed)
    tok = generator.tokenizer
    rows = [row for example in examples for row in encode_rows(tok, example, config.max_length)]
    model, lora = prepare_model(generator, config)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    trainable, total = sum(p.numel() for p in params), sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.0)
    per_epoch = -(-len(rows) // (config.batch_size * config.grad_accum))
    steps = max_steps or config.epochs * per_epoch
    sched = warmup_then_decay(opt, steps, config.warmup)
    rng = np.random.default_rng(config.seed)
    out = Path(out)
    history, step, start = [], 0, time.perf_counter()
    fingerprint = generator.resolved.fingerprint()
    for epoch in range(config.epochs):
        batches = length_batches([len(r[0]) for r in rows], config.batch_size, rng)
        bar = progress(batches, desc=f"sft epoch {epoch + 1}/{config.epochs}", unit="batch")
        try:
            losses, step = _epoch(model, rows, bar, len(batches), tok.pad_token_id, (params, opt, sched), config,
                                  step, max_steps)
        except KeyboardInterrupt:
            if not max_steps:
                save_interrupted((lora, model), out, sched.last_epoch, (fingerprint, config.save_dtype))
            raise
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "steps": step,
                        "seconds": round(time.perf_counter() - start, 1)})
        log(f"epoch {epoch + 1}: mean loss {np.mean(losses):.4f}")
        if lora is not None and not max_steps:
            lora.save(model, out.with_name(out.name + "-checkpoints") / f"epoch-{epoch + 1}",
                      base_fingerprint=fingerprint, dtype=config.save_dtype)
        if max_steps and step >= max_steps:
            break
    model.eval()
    report = {"examples": len(examples), "rows": len(rows), "trainable_params": trainable, "total_params": total,
              "train_s": round(time.perf_counter() - start, 1), "history": history, "config": attrs.asdict(config)}
    if lora is not None and not max_steps:
        lora.save(model, out, base_fingerprint=fingerprint, dtype=config.save_dtype)
        from latentstack.storage import attach_json

        attach_json(out, "training.json", report)
        report["adapter_bytes"] = sum(f.stat().st_size for f in out.glob("adapter_model.*"))
    return report


def save_interrupted(trained: tuple[Any, Any], out: Path, steps: int, saving: tuple[str, str], again: str = "") -> None:
    """On Ctrl-C: keep the (lora, model) adapter as trained so far in ``OUT-checkpoints/interrupted-step-N`` and say
    how to go on from it (always said: it is where the work went, not a status line)."""
    lora, model = trained
    if lora is None or steps == 0:
        return
    where = out.with_name(out.name + "-checkpoints") / f"interrupted-step-{steps}"
    lora.save(model, where, base_fingerprint=saving[0], dtype=saving[1])
    notice(f"interrupted after {steps} optimiser step(s): the adapter as trained so far is in {where}; go on from it "
           f"with --init-adapter {where}{again} (the learning-rate schedule starts again)")


def _epoch(model: Any, rows: list[Any], bar: Any, n_batches: int, pad_id: int, optim: tuple[Any, Any, Any],
           config: SftConfig, step: int, max_steps: int | None) -> tuple[list[float], int]:
    """One pass over the batches (gradient accumulation, clipping); returns the losses and the step count."""
    import numpy as np
    import torch

    params, opt, sched = optim
    losses: list[float] = []
    for b, idx in enumerate(bar):
        batch = collate([rows[i] for i in idx], pad_id)
        loss = reply_loss(model, {k: v.to(model.device) for k, v in batch.items()})
        (loss / config.grad_accum).backward()
        losses.append(float(loss.detach()))
        if (b + 1) % config.grad_accum == 0 or b + 1 == n_batches:
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{np.mean(losses[-10:]):.3f}", step=step)
        if max_steps and step >= max_steps:
            break
    return losses, step


def model_bytes(generator: Any) -> int:
    """Bytes of the base model's weight files."""
    return sum(f.stat().st_size for f in Path(generator.resolved.path).glob("*.safetensors"))

