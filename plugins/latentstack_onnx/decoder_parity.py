"""Checking an ONNX Runtime GenAI decoder against the torch model it was built from, on probe prompts.

fp32 must write the same greedy tokens as torch: an answer may part from torch's only
where torch's two best next tokens were a near tie (their logits within NEAR_TIE), which
float rounding can flip. int8 and int4 are held to the log-likelihood torch's own greedy
answers keep under them: the mean per-token loss may rise by at most NLL_RISE nats.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

NEAR_TIE = 0.05
NLL_RISE = {"int8": 0.1, "int4": 0.5}

PROBE_PROMPTS = (
    "What is the capital of France?",
    "Write one sentence about the sea.",
    "Explain in two sentences why the sky is blue.",
    "List three fruits that are red.",
    "How do I boil an egg?",
    "Translate 'good morning' into Spanish.",
    "What is 12 times 7?",
    "Give a short tip for writing clear emails.",
)


@attrs.frozen
class Reference:
    """Torch's greedy answer to one prompt, with the log-probabilities and top-two logit gaps along it."""

    prompt: list[int]
    answer: list[int]
    logprobs: np.ndarray
    gaps: np.ndarray


def torch_prompt_ids(tokenizer: Any, prompt: str) -> list[int]:
    """The chat-templated prompt's token ids, exactly as the torch generator builds them."""
    text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                         tokenize=False)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def torch_reference(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int) -> list[Reference]:
    """Greedy answers of the torch model, then one teacher-forced pass for their log-probabilities."""
    import torch

    out = []
    stops = {int(t) for t in np.atleast_1d(model.generation_config.eos_token_id)} | {int(tokenizer.eos_token_id)}
    with torch.inference_mode():
        for prompt in prompts:
            ids = torch_prompt_ids(tokenizer, prompt)
            full = model.generate(torch.tensor([ids]), max_new_tokens=max_new_tokens, do_sample=False,
                                  pad_token_id=tokenizer.eos_token_id)[0].tolist()[len(ids):]
            answer = _until(full, stops)
            logits = model(torch.tensor([ids + answer])).logits[0, len(ids) - 1: len(ids) + len(answer) - 1].double()
            logp = torch.log_softmax(logits, -1)[torch.arange(len(answer)), torch.tensor(answer)]
            top2 = logits.topk(2, dim=-1).values
            out.append(Reference(ids, answer, logp.numpy(), (top2[:, 0] - top2[:, 1]).numpy()))
    return out


def _until(tokens: list[int], stops: set[int]) -> list[int]:
    for i, t in enumerate(tokens):
        if t in stops:
            return tokens[:i]
    return tokens


def check(model: Any, refs: Sequence[Reference], precision: str, stop_ids: set[int], max_new_tokens: int,
          floor: int = 0) -> dict[str, Any]:
    """The parity figures of a GenAI model against the torch references (answers of up to ``max_new_tokens``;
    ``floor``: the export's ``kv_floor``)."""
    from latentstack.interfaces import GenerationConfig
    from latentstack_onnx.genai_decode import answer_logprobs, decode_tokens

    identical, divergences, nll_torch, nll_onnx = 0, [], [], []
    for n, ref in enumerate(refs):
        got = list(decode_tokens(model, ref.prompt, GenerationConfig(max_new_tokens=max_new_tokens), stop_ids=stop_ids,
                                 floor=floor))
        if got == ref.answer:
            identical += 1
        else:
            at = next((i for i, (a, b) in enumerate(zip(ref.answer, got, strict=False)) if a != b),
                      min(len(ref.answer), len(got)))
            gap = float(ref.gaps[at]) if at < len(ref.gaps) else 0.0
            divergences.append({"prompt": n, "token": at, "torch_gap": round(gap, 4)})
        if ref.answer:
            nll_torch.append(-ref.logprobs.mean())
            nll_onnx.append(-answer_logprobs(model, ref.prompt, ref.answer, floor).mean())
    rise = float(np.mean(nll_onnx) - np.mean(nll_torch)) if nll_torch else 0.0
    figures: dict[str, Any] = {
        "prompts": len(refs), "identical_share": identical / max(len(refs), 1), "divergences": divergences,
        "nll_torch": float(np.mean(nll_torch)) if nll_torch else 0.0,
        "nll_onnx": float(np.mean(nll_onnx)) if nll_onnx else 0.0, "nll_rise": rise,
    }
    if precision == "fp32":
        figures["rule"] = f"greedy tokens identical, except after a near tie (torch's top-two logits within {NEAR_TIE})"
        figures["passed"] = all(d["torch_gap"] < NEAR_TIE for d in divergences)
    else:
        figures["rule"] = f"mean per-token loss of torch's greedy answers rises by at most {NLL_RISE[precision]} nats"
        figures["passed"] = rise <= NLL_RISE[precision]
    return figures
