"""``latentstack bench generate``: our streamed generators against plain ``transformers.generate``.

Same model, same chat-templated prompt, greedy, in one process. The ``onnx-*`` rows run
the ``onnx`` generator (ONNX Runtime GenAI) on exports of the same model at each
precision, built once and kept under ``$LATENTSTACK_HOME/exports``. Prefill speed is the
prompt length over the time to the first new token; decode speed is the remaining
new tokens over the remaining time. ``same_text`` says whether the greedy answer
reads the same as plain generate's (bf16 may differ). Each run reads the whole prompt (the generators' prefix
cache is off: it would read the repeated prompt's last token only). Loading is timed from the packaged GGUF
and from the converted safetensors folder.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import click

from latentstack.bench.options import bench_options, split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult
from latentstack.bench.writers import timing_chart
from latentstack.progress import log

METHODS = ["transformers-generate", "llm", "llm-bf16", "onnx-fp32", "onnx-int8", "onnx-int4", "onnx-int4-rounded",
           "load-gguf", "load-folder"]
DEFAULT = "transformers-generate,llm,llm-bf16,onnx-fp32,onnx-int8,onnx-int4,load-folder,load-gguf"
#: The generator and options each streamed method runs, through the registry (no kept KV cache and no prompt
#: lookup: each row's figures are its runtime reading the whole prompt and decoding a token a pass).
GENERATORS: dict[str, tuple[str, dict[str, Any]]] = {
    "llm": ("llm", {"dtype": "float32", "prefix_cache": 0, "prompt_lookup": 0}),
    "llm-bf16": ("llm", {"dtype": "bfloat16", "prefix_cache": 0, "prompt_lookup": 0}),
    "onnx-fp32": ("onnx", {"precision": "fp32", "prefix_cache": 0}),
    "onnx-int8": ("onnx", {"precision": "int8", "prefix_cache": 0}),
    "onnx-int4": ("onnx", {"precision": "int4", "prefix_cache": 0}),
    "onnx-int4-rounded": ("onnx", {"precision": "int4", "grid": False, "prefix_cache": 0})}
PROMPT = ("Read the passage and answer the question.\n\nPassage: The Amazon rainforest covers much of the Amazon "
          "basin of South America. This basin encompasses seven million square kilometres, of which five and a "
          "half million square kilometres are covered by the rainforest. The region includes territory belonging "
          "to nine nations. The majority of the forest is contained within Brazil, with 60% of the rainforest, "
          "followed by Peru with 13%, Colombia with 10%, and with minor amounts in Venezuela, Ecuador, Bolivia, "
          "Guyana, Suriname and French Guiana. ") * 2 + "\n\nQuestion: Which country holds most of the forest?"


class Streamed:
    """Times one streamed generation: first piece (prefill + one token) and the rest."""

    def __init__(self, pieces: Any) -> None:
        start = time.perf_counter()
        self.first = 0.0
        parts: list[str] = []
        for piece in pieces:
            if not parts:
                self.first = time.perf_counter() - start
            parts.append(piece)
        self.total = time.perf_counter() - start
        self.text = "".join(parts)


def _plain(gen: Any, ids: Any, new: int) -> tuple[list[int], float, float]:
    """Plain model.generate: seconds for 1 new token (prefill) and for all ``new`` tokens (prefill included)."""
    import torch

    kw = {"do_sample": False, "pad_token_id": gen.tokenizer.pad_token_id, "attention_mask": torch.ones_like(ids)}
    with torch.inference_mode():
        t0 = time.perf_counter()
        gen.model.generate(input_ids=ids, max_new_tokens=1, **kw)
        t1 = time.perf_counter()
        out = gen.model.generate(input_ids=ids, max_new_tokens=new, min_new_tokens=new, **kw)
        t2 = time.perf_counter()
    return out[0, ids.shape[1]:].tolist(), t1 - t0, t2 - t1


def _speed(prompt_len: int, new: int, first_s: float, total_s: float) -> dict[str, float]:
    return {"prefill_tokens_per_s": prompt_len / first_s, "decode_tokens_per_s": (new - 1) / (total_s - first_s),
            "seconds": total_s}


def _answer_text(gen: Any, tokens: list[int]) -> str:
    """What plain generate's tokens read as, up to the end of the turn (as a stream shows them)."""
    eos = gen.tokenizer.eos_token_id
    return gen.tokenizer.decode(tokens[: tokens.index(eos)] if eos in tokens else tokens, skip_special_tokens=True)


def run_generation(method: str, model: str, new: int, repeats: int, reference: dict[str, Any]) -> MethodResult:
    """Generate ``new`` tokens greedily ``repeats`` times (after one warm-up run); the median speeds.

    ``same_text`` compares what this method wrote with plain generate's answer in fp32.
    """
    from latentstack import get_generator
    from latentstack.interfaces import GenerationConfig
    from latentstack_llm.generator import LlmGenerator

    torch_gen = LlmGenerator.from_options(model=model)
    ids = torch_gen.prompt_ids(PROMPT)  # the exports' chat template gives the same ids (checked at export)
    n = int(ids.shape[1])
    gen: Any = None
    if method != "transformers-generate":
        name, options = GENERATORS[method]
        gen = get_generator(name, model=model, **options)
    runs, text = [], ""
    for _ in range(repeats + 1):  # the first run warms up (and builds an onnx export that is not there yet)
        if gen is None:
            tokens, first, total = _plain(torch_gen, ids, new)
            runs.append(_speed(n, new, first, total))
            text = _answer_text(torch_gen, tokens)
        else:
            s = Streamed(gen.stream(PROMPT, GenerationConfig(max_new_tokens=new)))
            runs.append(_speed(n, gen.count_tokens(s.text) or 1, s.first, s.total))
            text = s.text
    runs = runs[1:]
    timing = {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}
    timing["prompt_tokens"] = n
    if method == "transformers-generate":
        reference["text"] = text
    metrics = {"same_text": float(text == reference.get("text", text))}
    return MethodResult(method, metrics, timing)


def run_load(method: str, model: str) -> MethodResult:
    """Seconds to load the model from the GGUF (as transformers reads it) or from our converted folder."""
    from transformers import AutoModelForCausalLM

    from latentstack.hf import quiet_transformers
    from latentstack.sources import resolve_model
    from latentstack.sources.packaged import PACKAGED, _installed_file

    quiet_transformers()
    start = time.perf_counter()
    if method == "load-gguf":
        entry = next(m for m in PACKAGED if m.name == model or model in m.aliases)
        gguf = _installed_file(entry)
        if gguf is None:
            return MethodResult(method, {}, {"load_s": float("nan")}, {"error": "not installed"})
        AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    else:
        AutoModelForCausalLM.from_pretrained(resolve_model(model).path)
    return MethodResult(method, {}, {"load_s": round(time.perf_counter() - start, 3)})


@click.command("generate")
@bench_options(DEFAULT, data_required=False)
@click.option("--model", default="smollm2-135m-instruct", show_default=True)
@click.option("--new-tokens", default=64, show_default=True, type=click.IntRange(min=1), help="Tokens generated per run.")
@click.option("--repeats", default=3, show_default=True, type=click.IntRange(min=1), help="Timed runs per method (median reported).")
@suite
def generate(data: str | None, methods: str, limit: int | None, seed: int, model: str, new_tokens: int,
             repeats: int) -> BenchReport:
    """Prefill and decode tokens/s of the llm generator vs plain transformers.generate, and load times."""
    from latentstack.cli.options import refuse_given

    refuse_given(("data", "limit", "seed"), "the suites that read data; bench generate times a built-in prompt, "
                 "greedily: leave {} out")
    chosen = split_methods(methods, METHODS)
    report = BenchReport("generate", "built-in prompt", repeats,
                         params={"model": model, "new_tokens": new_tokens, "repeats": repeats, "greedy": True})
    report.chart = timing_chart("decode_tokens_per_s", "decode tokens/s (greedy)")
    reference: dict[str, Any] = {}
    for method in chosen:
        log(f"bench generate: {method}")
        if method.startswith("load-"):
            report.results.append(run_load(method, model))
        else:
            report.results.append(run_generation(method, model, new_tokens, repeats, reference))
    return report
