"""What autograd keeps for one SFT forward pass, LoRA against full fine-tuning.

Runs the reply loss of `adapt sft` on the first 4 examples of an SFT file (one batch) under
`torch.autograd.graph.saved_tensors_hooks` and adds up the bytes of every distinct storage
saved for the backward pass that is not a parameter. Prints MB per mode and the largest
shapes; no training step is taken.

    .venv/bin/python benchmarks/sft_saved_tensors.py --data sft.jsonl
"""
import argparse
import collections

import torch

from latentstack import get_generator
from latentstack.data.sft import load_sft
from latentstack.progress import set_quiet
from latentstack_llm.sft import SftConfig, collate, encode_example, prepare_model, reply_loss

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--model", default="smollm2-135m-instruct")
args = parser.parse_args()
set_quiet(True)
for mode in ("lora", "full"):
    gen = get_generator("llm", model=args.model)  # a fresh model: LoRA changes it in place
    cfg = SftConfig(mode=mode)
    model, _ = prepare_model(gen, cfg)
    model.train()
    batch = collate([encode_example(gen.tokenizer, m, cfg.max_length) for m in load_sft(args.data)[:4]],
                    gen.tokenizer.pad_token_id)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}
    shapes: collections.Counter = collections.Counter()

    def keep(t: torch.Tensor) -> torch.Tensor:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in seen and ptr not in params:
            seen[ptr] = t.untyped_storage().nbytes()
            shapes[(tuple(t.shape), str(t.dtype))] += seen[ptr]
        return t

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        reply_loss(model, batch)
    print(f"{mode}: batch {tuple(batch['input_ids'].shape)}, saved for backward {sum(seen.values()) / 2**20:,.1f} MB")
    for (shape, dtype), size in shapes.most_common(5):
        print(f"    {shape} {dtype}: {size / 2**20:,.1f} MB")
