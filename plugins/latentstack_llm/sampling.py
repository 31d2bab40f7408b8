"""K sampled answers to one prompt, the prompt prefilled once.

The prompt runs through the model once; its KV cache is then repeated K times and the K
answers are decoded as one batch, one forward pass per step for all of them. Every row
has the same length at every step (the shared prompt plus one token per step), so no
padding or attention mask is needed; a row that has ended keeps decoding and its extra
tokens are dropped. Sampling is temperature then nucleus (top_p), from a seeded
``torch.Generator``, so the same seed gives the same K answers.
"""

from __future__ import annotations

from typing import Any


def pick_rows(logits: Any, temperature: float, top_p: float, rng: Any) -> Any:
    """One token per row of ``logits`` (k, vocab): argmax at temperature 0, else a nucleus sample."""
    import torch

    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        ordered, order = probs.sort(dim=-1, descending=True)
        ordered[ordered.cumsum(-1) - ordered >= top_p] = 0.0  # the first token of each row is always kept
        return order.gather(-1, torch.multinomial(ordered, 1, generator=rng)).squeeze(-1)
    return torch.multinomial(probs, 1, generator=rng).squeeze(-1)


def sample_answers(model: Any, ids: Any, k: int, *, max_new_tokens: int, stop_ids: set[int],
                   temperature: float = 1.0, top_p: float = 1.0, seed: int = 0,
                   greedy_rows: int = 0) -> list[list[int]]:
    """``k`` answers (token ids, end token excluded) to the (1, n) prompt ``ids``. Call in ``inference_mode``.

    The first ``greedy_rows`` of them are decoded greedily (argmax), the rest sampled.
    """
    import torch
    from transformers import DynamicCache

    rng = torch.Generator(device=ids.device)
    rng.manual_seed(seed)
    cache = DynamicCache(config=model.config)
    logits = model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1).logits[:, -1]
    cache.batch_repeat_interleave(k)
    logits = logits.expand(k, -1)
    answers: list[list[int]] = [[] for _ in range(k)]
    open_rows = set(range(k))
    for _ in range(max_new_tokens):
        tokens = pick_rows(logits, temperature, top_p, rng)
        if greedy_rows:
            tokens[:greedy_rows] = logits[:greedy_rows].argmax(-1)
        for row, token in enumerate(tokens.tolist()):
            if row in open_rows:
                if token in stop_ids:
                    open_rows.discard(row)
                else:
                    answers[row].append(token)
        if not open_rows:
            break
        logits = model(input_ids=tokens[:, None], cache=cache, use_cache=True, logits_to_keep=1).logits[:, -1]
    return answers
