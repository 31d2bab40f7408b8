"""The decode loop over an ONNX Runtime GenAI model, with the torch generator's picking rules in numpy.

ONNX Runtime GenAI keeps the KV cache; each ``append_tokens`` runs the model on the new
tokens and leaves the last position's logits. The token is picked here rather than by
GenAI's own search so that greedy decoding, temperature then nucleus (top_p) sampling
and the repetition penalty follow exactly the rules of the ``llm`` generator
(transformers' penalty: positive logits divided by it, negative ones multiplied, over
every token of the prompt and the answer so far). Seeded sampling is reproducible with
this generator; it does not draw the same tokens as torch's random generator.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from latentstack.logit_shifts import Shifts

if TYPE_CHECKING:
    from latentstack.interfaces import GenerationConfig


def pick(logits: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator, top_k: int = 0,
         min_p: float = 0.0) -> int:
    """The next token from one row of logits: argmax at temperature 0, else a sample after temperature, from the
    ``top_k`` likeliest (0: all), within the nucleus ``top_p``, of those at least ``min_p`` times as likely as the
    likeliest (the torch generator's rules)."""
    if temperature <= 0:
        return int(np.argmax(logits))
    scaled = logits.astype(np.float64) / temperature
    if 0 < top_k < len(scaled):
        scaled = np.where(scaled < np.partition(scaled, -top_k)[-top_k], -np.inf, scaled)
    probs = np.exp(scaled - scaled.max())
    probs /= probs.sum()
    if top_p < 1.0 or min_p > 0.0:
        order = np.argsort(-probs, kind="stable")
        ordered = probs[order]
        if top_p < 1.0:
            ordered = np.where((np.cumsum(ordered) - ordered) < top_p, ordered, 0.0)  # the first is always kept
        if min_p > 0.0:
            ordered = np.where(ordered >= min_p * ordered[0], ordered, 0.0)
        return int(order[rng.choice(len(ordered), p=ordered / ordered.sum())])
    return int(rng.choice(len(probs), p=probs))


def penalize(logits: np.ndarray, seen: Sequence[int], penalty: float) -> np.ndarray:
    """transformers' repetition penalty on one row of logits: tokens in ``seen`` made less likely."""
    if penalty == 1.0 or not seen:
        return logits
    ids = np.unique(np.asarray(seen, dtype=np.int64))
    picked = logits[ids]
    logits = logits.copy()
    logits[ids] = np.where(picked > 0, picked / penalty, picked * penalty)
    return logits


def prepared(prompt: Sequence[int], penalty: float, constraint: Any, shifts: Shifts | None = None) -> Any:
    """``prepared(logits, answer)`` for ``latentstack.prompt_lookup.Pick``: a row of logits after the
    ``constraint``'s mask, the repetition ``penalty`` over ``prompt`` and ``answer``, and OpenAI's penalties and
    bias (``shifts``)."""

    def prepare(logits: np.ndarray, answer: list[int]) -> np.ndarray:
        allowed = logits if constraint is None else np.where(constraint.allowed(len(logits)), logits, -np.inf)
        allowed = allowed if penalty == 1.0 else penalize(allowed, [*prompt, *answer], penalty)
        if shifts is None:
            return allowed
        ids, by = shifts.at(answer, len(logits))
        if not ids:
            return allowed
        out = allowed.copy()
        out[ids] += np.asarray(by, dtype=out.dtype)
        return out

    return prepare


def read_rows(generator: Any, tokens: list[int], rows: int) -> list[np.ndarray]:
    """Append ``tokens`` and give the logits of the last ``rows`` of them (the last only: not every position's
    copied, a prompt's among them)."""
    from latentstack.errors import ConfigError

    generator.append_tokens(tokens)
    if rows == 1:
        return [last_logits(generator)]
    out = np.asarray(generator.get_output("logits"), dtype=np.float32)
    out = out.reshape(-1, out.shape[-1])
    if len(out) < rows:
        msg = "this export's logits output holds the last position only: run it with -g prompt_lookup=0"
        raise ConfigError(msg)
    return list(out[len(out) - rows:])


def new_generator(model: Any, n_tokens: int, floor: int = 0) -> Any:
    """A GenAI generator with room for ``n_tokens`` (prompt and answer), and at least ``floor`` (``kv_floor``)."""
    import onnxruntime_genai as og

    params = og.GeneratorParams(model)
    params.set_search_options(max_length=max(n_tokens, floor), do_sample=False)
    return og.Generator(model, params)


def last_logits(generator: Any) -> np.ndarray:
    """The logits at the last position the generator has run, as float32 (vocab,)."""
    logits = np.asarray(generator.get_logits(), dtype=np.float32)
    return logits.reshape(-1, logits.shape[-1])[-1]


def decode_tokens(model: Any, prompt: Sequence[int], options: GenerationConfig, *, stop_ids: set[int],
                  floor: int = 0) -> Iterator[int]:
    """Yield new token ids after ``prompt``, decoded as ``options`` say, until an end token or
    ``options.max_new_tokens``; the end token is not yielded. ``floor``: the export's ``kv_floor``."""
    for token, _ in decode_steps(model, prompt, options, stop_ids=stop_ids, floor=floor):
        yield token


def decode_steps(model: Any, prompt: Sequence[int], options: GenerationConfig, *, stop_ids: set[int],
                 floor: int = 0, constraint: Any = None, generator: Any = None, start: int = 0,
                 lookup: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """``decode_tokens``' loop, yielding each token id with the row of logits it was picked from (before a
    ``constraint``, the penalties and temperature); ``options``' json_schema and stop strings are the caller's.
    A ``constraint`` (``latentstack.json_schema``) masks the tokens it does not allow and ends the answer once it
    is complete. A GenAI ``generator`` that holds the first ``start`` tokens of ``prompt`` already reads on from
    there (``kept_generator``). With ``lookup`` (not a sliding window's export) up to that many tokens found earlier
    are checked a pass (``latentstack.prompt_lookup``)."""
    from latentstack.prompt_lookup import Pick, lookup_steps

    rng = np.random.default_rng(options.seed)
    new = options.max_new_tokens
    generator = new_generator(model, len(prompt) + new, floor) if generator is None else generator
    picker = Pick(prepared(prompt, options.repetition_penalty, constraint, Shifts.of(options)), constraint, stop_ids,
                  lambda row: pick(row, options.temperature, options.top_p, rng, options.top_k, options.min_p))
    yield from lookup_steps(lambda tokens, rows: read_rows(generator, tokens, rows),
                            lambda n: generator.rewind_to(generator.token_count() - n), list(prompt), start,
                            max_new_tokens=new, stop_ids=stop_ids, draft=0 if floor else lookup, picker=picker)


def log_probs(logits: np.ndarray, token: int, top: int) -> tuple[float, list[tuple[int, float]]]:
    """The log-probability of ``token`` in one row of logits, and the ``top`` likeliest (id, log-probability)."""
    row = logits.astype(np.float64)
    logp = row - row.max() - np.log(np.exp(row - row.max()).sum())
    best = np.argpartition(-logp, top)[:top] if 0 < top < len(logp) else np.arange(len(logp) if top else 0)
    best = best[np.argsort(-logp[best], kind="stable")]
    return float(logp[token]), [(int(i), float(logp[i])) for i in best]


def forced_logits(model: Any, prompt: Sequence[int], answer: Sequence[int], floor: int = 0) -> Iterator[np.ndarray]:
    """The row of logits each answer token is read from after ``prompt`` and the answer before it, teacher-forced:
    in one pass, as a prompt is read (GenAI's ``logits`` output holds every position appended last), or a token a
    step for an export whose output holds the last position only."""
    if not answer:
        return
    generator = new_generator(model, len(prompt) + len(answer), floor)
    generator.append_tokens([*prompt, *(int(t) for t in answer[:-1])])
    rows = np.asarray(generator.get_output("logits"), dtype=np.float32)
    rows = rows.reshape(-1, rows.shape[-1])
    if len(rows) >= len(answer):
        yield from rows[len(rows) - len(answer):]
        return
    generator = new_generator(model, len(prompt) + len(answer), floor)
    generator.append_tokens(list(prompt))
    for i, token in enumerate(answer):
        yield last_logits(generator)
        if i + 1 < len(answer):
            generator.append_tokens([int(token)])


def answer_logprobs(model: Any, prompt: Sequence[int], answer: Sequence[int], floor: int = 0) -> np.ndarray:
    """log p(answer[i] | prompt, answer[:i]) for each answer token, teacher-forced."""
    out = []
    for token, row in zip(answer, forced_logits(model, prompt, answer, floor), strict=True):
        logits = row.astype(np.float64)
        out.append(logits[token] - logits.max() - np.log(np.exp(logits - logits.max()).sum()))
    return np.asarray(out)
