"""K sampled answers to one prompt, the prompt prefilled once.

The prompt runs through the model once; its KV cache is then repeated K times and the K
answers are decoded as one batch, one forward pass per step for all of them. Every row
has the same length at every step (the shared prompt plus one token per step), so no
padding or attention mask is needed; a row that has ended keeps decoding and its extra
tokens are dropped. Each row's logits are prepared as the generator prepares one answer's
(the repetition penalty, OpenAI's penalties and bias), then picked as it picks (temperature,
top_k, top_p, min_p) from a seeded ``torch.Generator``, so the same seed gives the same K
answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from latentstack.interfaces import GenerationConfig


def sample_answers(model: Any, ids: Any, k: int, options: GenerationConfig, *, stop_ids: set[int],
                   greedy_rows: int = 0) -> list[list[int]]:
    """``k`` answers (token ids, end token excluded) to the (1, n) prompt ``ids``, decoded as ``options`` say (its
    json_schema and stop strings aside). Call in ``inference_mode``.

    The first ``greedy_rows`` of them are decoded greedily (argmax), the rest sampled.
    """
    import torch
    from transformers import DynamicCache

    from latentstack.logit_shifts import Shifts
    from latentstack_llm.decoding import pick_rows, prepared, seeded_rng

    rng = seeded_rng(options.seed, ids.device)
    prepare = prepared(ids[0], options.repetition_penalty, None, Shifts.of(options))
    cache = DynamicCache(config=model.config)
    logits = model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1).logits[:, -1]
    cache.batch_repeat_interleave(k)
    logits = logits.expand(k, -1)
    answers: list[list[int]] = [[] for _ in range(k)]
    drawn: list[list[int]] = [[] for _ in range(k)]  # every row's tokens, those after its end included
    open_rows = set(range(k))
    for _ in range(options.max_new_tokens):
        rows = torch.stack([prepare(row, drawn[i]) for i, row in enumerate(logits)])
        tokens = pick_rows(rows, options.temperature, options.top_p, rng, options.top_k, options.min_p)
        if greedy_rows:
            tokens[:greedy_rows] = rows[:greedy_rows].argmax(-1)
        for row, token in enumerate(tokens.tolist()):
            drawn[row].append(token)
            if row in open_rows:
                if token in stop_ids:
                    open_rows.discard(row)
                else:
                    answers[row].append(token)
        if not open_rows:
            break
        logits = model(input_ids=tokens[:, None], cache=cache, use_cache=True, logits_to_keep=1).logits[:, -1]
    return answers
