"""The decode loop: one forward pass per new token on the KV cache, in the caller's thread.

``model.generate`` with a TextIteratorStreamer needs a second thread, and on two cores
that thread's OpenMP team competed with the caller's, and streaming ran slower than plain
``generate`` (docs/benchmarks.md, Generation speed). This loop runs where the caller iterates, computes logits for the last
position only, and yields each token id as soon as it is picked; greedy picks the same
tokens as ``generate`` (tested), with or without a repetition penalty. Sampling is
temperature then nucleus (top_p), from a seeded ``torch.Generator``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from latentstack.logit_shifts import Shifts

if TYPE_CHECKING:
    from latentstack.interfaces import GenerationConfig

#: A forward pass: the last ``keep`` positions' logits (keep, vocab) after reading token ids onto a KV cache.
Forward = Callable[[Any, Sequence[int], int], Any]


def eos_ids(model: Any, tokenizer: Any) -> set[int]:
    """Every token id that ends an answer: the generation config's and the tokenizer's."""
    found = model.generation_config.eos_token_id
    ids = set(found if isinstance(found, list) else [found] if found is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return ids


def seeded_rng(seed: int | None, device: Any) -> Any:
    """A ``torch.Generator`` on ``device`` seeded with ``seed`` (None: drawn), for ``pick``."""
    import torch

    rng = torch.Generator(device=device)
    if seed is None:
        rng.seed()
    else:
        rng.manual_seed(seed)
    return rng


def pick(logits: Any, temperature: float, top_p: float, rng: Any, top_k: int = 0, min_p: float = 0.0) -> int:
    """The next token from one row of logits: ``pick_rows``' for one row."""
    return int(pick_rows(logits[None], temperature, top_p, rng, top_k, min_p)[0])


def pick_rows(logits: Any, temperature: float, top_p: float, rng: Any, top_k: int = 0, min_p: float = 0.0) -> Any:
    """One token per row of ``logits`` (rows, vocab): argmax at temperature 0, else a sample after temperature, from
    the ``top_k`` likeliest (0: all), within the nucleus ``top_p``, of those at least ``min_p`` times as likely as
    the likeliest (transformers' order)."""
    import torch

    if temperature <= 0:
        return logits.argmax(-1)
    scaled = logits.float() / temperature
    if 0 < top_k < scaled.shape[-1]:
        scaled = scaled.masked_fill(scaled < scaled.topk(top_k).values[:, -1:], float("-inf"))
    probs = torch.softmax(scaled, dim=-1)
    if top_p < 1.0 or min_p > 0.0:
        ordered, order = probs.sort(dim=-1, descending=True)
        if top_p < 1.0:
            ordered[ordered.cumsum(-1) - ordered >= top_p] = 0.0  # the first token of each row is always kept
        if min_p > 0.0:
            ordered[ordered < min_p * ordered[:, :1]] = 0.0
        return order.gather(-1, torch.multinomial(ordered, 1, generator=rng)).squeeze(-1)
    return torch.multinomial(probs, 1, generator=rng).squeeze(-1)


def penalize(logits: Any, seen: Any, penalty: float) -> Any:
    """transformers' repetition penalty on one row of logits (or each row of (rows, vocab) logits, ``seen`` then
    (rows, n)): tokens in ``seen`` made less likely."""
    import torch

    if penalty == 1.0:
        return logits
    picked = logits.gather(-1, seen)
    return logits.scatter(-1, seen, torch.where(picked > 0, picked / penalty, picked * penalty))


def prepared(prompt: Any, penalty: float, constraint: Any, shifts: Shifts | None = None) -> Any:
    """``prepared(logits, answer)`` for ``latentstack.prompt_lookup.Pick``: a row of logits after the
    ``constraint``'s mask, the repetition ``penalty`` over ``prompt`` (token ids) and ``answer``, and OpenAI's
    penalties and bias (``shifts``)."""
    import torch

    def prepare(logits: Any, answer: list[int]) -> Any:
        allowed = logits if constraint is None else held(logits, constraint)
        if penalty != 1.0:
            seen = torch.cat([prompt, torch.tensor(answer, dtype=prompt.dtype, device=prompt.device)])
            allowed = penalize(allowed, seen, penalty)
        return allowed if shifts is None else shifted(allowed, *shifts.at(answer, logits.shape[-1]))

    return prepare


def shifted(logits: Any, ids: list[int], by: list[float]) -> Any:
    """A copy of one row of logits with ``by`` added at the token ids ``ids`` (each once)."""
    import torch

    if not ids:
        return logits
    out = logits.clone()
    out[ids] += torch.tensor(by, dtype=out.dtype, device=out.device)
    return out


def decode_tokens(model: Any, ids: Any, options: GenerationConfig, *, stop_ids: set[int]) -> Iterator[int]:
    """Yield new token ids for the (1, n) prompt ``ids``, decoded as ``options`` say, until an end token or
    ``options.max_new_tokens``.

    Call inside ``torch.inference_mode()``. The end token itself is not yielded.
    """
    for token, _ in decode_steps(model, ids, options, stop_ids=stop_ids):
        yield token


def log_probs(logits: Any, token: int, top: int) -> tuple[float, list[tuple[int, float]]]:
    """The log-probability of ``token`` in one row of logits, and the ``top`` likeliest (id, log-probability)."""
    import torch

    logp = torch.log_softmax(logits.float(), dim=-1)
    best = logp.topk(top) if top else None
    return float(logp[token]), [] if best is None else list(zip(best.indices.tolist(), best.values.tolist(), strict=True))


def held(logits: Any, constraint: Any) -> Any:
    """``logits`` with every token ``constraint`` does not allow next at minus infinity."""
    import torch

    allowed = torch.from_numpy(constraint.allowed(logits.shape[-1])).to(logits.device)
    return logits.masked_fill(~allowed, float("-inf"))


def alone(model: Any) -> Forward:
    """``model``'s forward pass for one answer: the last ``keep`` positions' logits after reading ``tokens`` onto
    ``cache``."""
    import torch

    def forward(cache: Any, tokens: Sequence[int], keep: int) -> Any:
        step = torch.tensor([list(tokens)], device=model.device)
        return model(input_ids=step, cache=cache, use_cache=True, logits_to_keep=keep).logits[0]

    return forward


def decode_steps(model: Any, ids: Any, options: GenerationConfig, *, stop_ids: set[int], constraint: Any = None,
                 cache: Any = None, start: int = 0, lookup: int = 0,
                 forward: Forward | None = None) -> Iterator[tuple[int, Any]]:
    """``decode_tokens``' loop, yielding each token id with the model's row of logits it was picked from (before
    a ``constraint``, the penalties and temperature); ``options``' json_schema and stop strings are the caller's.
    A ``constraint`` (``latentstack.json_schema``) masks the tokens it does not allow and ends the answer once it
    is complete. A KV ``cache`` that holds the first ``start`` tokens of ``ids`` already is read on from there
    (``prefix_cache``); it grows in place. With ``lookup`` (a cache that can drop positions) up to that many tokens
    found earlier are checked a pass (``prompt_lookup``): the same tokens (greedy, or seeded samples), fewer passes.
    ``forward`` runs the passes (``alone`` by default; a ``StepBatcher``'s reads them with other answers')."""
    from transformers import DynamicCache

    from latentstack.prompt_lookup import Pick, lookup_steps
    from latentstack_llm.prefix_cache import croppable

    cache = DynamicCache(config=model.config) if cache is None else cache
    forward = alone(model) if forward is None else forward
    rng = seeded_rng(options.seed, ids.device)

    def read(tokens: list[int], rows: int) -> Any:
        return forward(cache, tokens, rows)

    picker = Pick(prepared(ids[0], options.repetition_penalty, constraint, Shifts.of(options)), constraint, stop_ids,
                  lambda row: pick(row, options.temperature, options.top_p, rng, options.top_k, options.min_p))
    yield from lookup_steps(read, lambda n: cache.crop(-n), ids[0].tolist(), start,
                            max_new_tokens=options.max_new_tokens, stop_ids=stop_ids,
                            draft=lookup if croppable(cache) else 0, picker=picker)


class IncrementalText:
    """Token ids in, the text they add out, never half a character or a word piece that may still change.

    Decodes a short window of recent tokens twice (before and after the new one) and
    emits the difference once it no longer ends in an incomplete UTF-8 sequence, the
    way text-generation servers stream.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.tokens: list[int] = []
        self.prefix = 0  # start of the window decoded for context
        self.read = 0  # tokens whose text has been emitted

    def _unread(self) -> str:
        """The text of the tokens not yet emitted, decoded with the emitted window before them as context."""
        before = self.tokenizer.decode(self.tokens[self.prefix: self.read], skip_special_tokens=True)
        after = self.tokenizer.decode(self.tokens[self.prefix:], skip_special_tokens=True)
        return after[len(before):]

    def feed(self, token: int) -> str:
        """The new text that ``token`` completes ('' while a character is incomplete)."""
        self.tokens.append(token)
        new = self._unread()
        if new and not new.endswith("\ufffd"):
            self.prefix, self.read = self.read, len(self.tokens)
            return new
        return ""

    def flush(self) -> str:
        """Whatever is left undecoded at the end."""
        new = self._unread()
        self.read = len(self.tokens)
        return new
