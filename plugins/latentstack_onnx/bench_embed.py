"""``latentstack bench embed``: the same encoder through torch fp32/bf16, ONNX fp32/int8 and sentence-transformers.

``--embedder llm`` runs the torch rows (fp32, bf16, auto) on a decoder's pooled hidden states instead.

All methods embed the same texts in one process, at each batch size. Throughput counts
real (unpadded) tokens; GFLOP/s counts the matrix work actually done on the padded
batches (2 x multiply-adds of the linear layers and attention). The machine's fp32
matrix peak is measured beside it (a large torch matmul), and the theoretical figure
is given where the CPU's clock and vector width are known. Cosines are against torch-fp32.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import click
import numpy as np

from latentstack.bench.options import Counts, bench_options, split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult
from latentstack.bench.scratch import scratch_dir
from latentstack.bench.writers import timing_chart
from latentstack.cpu import usable_cores
from latentstack.progress import log

METHODS = ["torch-fp32", "torch-bf16", "torch-auto", "onnx-fp32", "onnx-int8", "sentence-transformers"]
TORCH_DTYPES = {"torch-fp32": "float32", "torch-bf16": "bfloat16", "torch-auto": "auto"}
TORCH_ONLY = tuple(TORCH_DTYPES)
DEFAULT = ",".join(METHODS)
GATED_MLP = ("llama", "mistral", "qwen2", "gemma")  # gate, up and down: three matrices, not two


def encoder_flops(config: Any, lengths: Sequence[int]) -> float:
    """FLOPs of one padded batch, per layer and token: 2 x the projections' multiply-adds (q and o d^2 each, k and
    v d x their width, which grouped-query attention narrows; two MLP matrices, three when gated) + 4*d*n attention."""
    d, ff, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    heads = config.num_attention_heads
    kv = d * getattr(config, "num_key_value_heads", heads) // heads
    mlp = 3 if getattr(config, "model_type", "") in GATED_MLP else 2
    n = max(lengths)
    tokens = n * len(lengths)
    return float(layers * tokens * (2 * (2 * d * d + 2 * d * kv + mlp * d * ff) + 4 * d * n))


def measured_peak_gflops(size: int = 2048, repeats: int = 5) -> float:
    """fp32 matmul GFLOP/s torch reaches on the machine it runs on (best of a few runs)."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def theoretical_peak_gflops(cores: int) -> float | None:
    """cores x max clock x fp32 FLOPs per cycle, if readable.

    64 FLOPs per cycle on Intel CPUs with AVX-512 (two 512-bit FMA pipes), else 32 (two 256-bit
    pipes: AVX2, and AMD's AVX-512, which runs on 256-bit units). A VM often reports only the base clock.
    """
    import re

    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    mhz = [float(m) for m in re.findall(r"cpu MHz\s*:\s*([\d.]+)", text)]
    if not mhz or " fma" not in text:
        return None
    per_cycle = 64 if "GenuineIntel" in text and " avx512f" in text else 32
    return cores * max(mhz) / 1000 * per_cycle


def batches(keys: Sequence[int], size: int) -> list[list[int]]:
    """Batches of indices sorted by key, longest first: token counts for our embedders, characters for ST."""
    order = np.argsort([-k for k in keys], kind="stable")
    return [list(order[i: i + size]) for i in range(0, len(keys), size)]


def _auto_choice(runner: Any, chosen: list[str]) -> dict[str, Any]:
    """Which dtype torch-auto picked on this CPU, and why (for the report's params)."""
    if "torch-auto" not in chosen:
        return {}
    emb = runner._embedder(runner.name, 32, model=runner.model, max_length=runner.max_length, dtype="auto")
    return {"torch_auto": emb.runtime_info()}


class Runner:
    """Builds each method's embed function once; times it per batch size."""

    def __init__(self, model: str, max_length: int, tmp: Path, threads: int = 0, name: str = "bert") -> None:
        from latentstack import get_embedder

        self.model, self.max_length, self.tmp, self.threads, self.name = model, max_length, tmp, threads, name
        self.base: Any = get_embedder(name, model=model, max_length=max_length, show_progress=False)
        self.export_s: float | None = None

    @cached_property
    def source(self) -> Any:
        """The encoder's folder and pooling (bert only: what the ONNX and sentence-transformers rows rebuild)."""
        return self.base.encoder_source()

    def tokenizer_lengths(self, texts: Sequence[str]) -> list[int]:
        """Token counts per text (after truncation), as the embedders count them to sort their batches."""
        from latentstack.batching import token_ids
        from latentstack.hf import load_tokenizer

        if self.name == "llm":
            return [len(ids) for ids in self.base.token_ids(texts)]
        return [len(ids) for ids in token_ids(load_tokenizer(self.source.path), texts, self.source.max_tokens)]

    def embed_fn(self, method: str) -> Callable[[list[str], int], np.ndarray]:
        """A function (texts, batch_size) -> vectors for the method."""
        if method in TORCH_DTYPES:
            dtype = TORCH_DTYPES[method]
            return lambda texts, bs: self._embedder(self.name, bs, model=self.model, max_length=self.max_length,
                                                    dtype=dtype).embed_many(texts)
        if method.startswith("onnx-"):
            folder, variant = str(self._export()), method.split("-")[1]
            return lambda texts, bs: self._embedder("onnx", bs, model=folder, variant=variant,
                                                    threads=self.threads).embed_many(texts)
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(self.source.path), device="cpu")
        st.max_seq_length = self.source.max_tokens
        return lambda texts, bs: st.encode(list(texts), batch_size=bs, normalize_embeddings=True,
                                           show_progress_bar=False, convert_to_numpy=True)

    def _embedder(self, name: str, bs: int, **options: Any) -> Any:
        """One embedder per plugin, options and batch size, built on first use and kept: the warm-up call
        loads it (for onnx: file hash, graph load, weight packing), and the timed passes only embed."""
        from latentstack import get_embedder

        key = (name, bs, *sorted(options.items()))
        cache = self.__dict__.setdefault("_embedders", {})
        if key not in cache:
            cache[key] = get_embedder(name, batch_size=bs, show_progress=False, **options)
        return cache[key]

    def _export(self) -> Path:
        folder = self.tmp / "onnx"
        if not folder.exists():
            from latentstack_onnx.export import ExportConfig, export_onnx

            start = time.perf_counter()
            export_onnx(ExportConfig(model=self.model, max_length=self.max_length, int8=True), folder)
            self.export_s = time.perf_counter() - start
        return folder


def profile_ops(folder: Path, variant: str, texts: list[str], bs: int, threads: int = 0) -> dict[str, float]:
    """Share of onnxruntime's kernel time per operator type on a few batches."""
    from latentstack.hf import load_tokenizer
    from latentstack.storage import read_manifest
    from latentstack_onnx.embedder import run_session, session

    manifest = read_manifest(folder, kind="export", plugin="onnx").data
    sess = session(folder / manifest["variants"][variant]["file"], threads, str(folder / f"profile-{variant}"))
    run_session(sess, load_tokenizer(folder), texts, manifest["max_length"], bs, manifest["dim"])
    events = json.loads(Path(sess.end_profiling()).read_text())
    by_op: dict[str, float] = defaultdict(float)
    for ev in events:
        if ev.get("cat") == "Node" and ev.get("name", "").endswith("_kernel_time"):
            by_op[ev.get("args", {}).get("op_name", "?")] += ev.get("dur", 0)
    total = sum(by_op.values()) or 1.0
    top = sorted(by_op.items(), key=lambda kv: -kv[1])[:8]
    return {op: round(dur / total, 3) for op, dur in top}


def _methods_for(embedder: str, methods: str) -> list[str]:
    """The rows to run: a decoder (``llm``) has only the torch rows, which are its default."""
    chosen = split_methods(methods, METHODS)
    if embedder != "llm":
        return chosen
    if methods == DEFAULT:
        return list(TORCH_ONLY)
    if other := [m for m in chosen if m not in TORCH_ONLY]:
        msg = f"--embedder llm runs only the torch rows ({', '.join(TORCH_ONLY)}), not {', '.join(other)}"
        raise click.UsageError(msg)
    return chosen


@click.command("embed")
@bench_options(DEFAULT)
@click.option("--batch-sizes", type=Counts(), default="1,32,128", show_default=True, help="Comma-separated batch sizes.")
@click.option("--embedder", "embedder_name", type=click.Choice(["bert", "llm"]), default="bert", show_default=True,
              help="bert: an encoder, every way; llm: a decoder's pooled states, the torch rows only.")
@click.option("--model", default=None, help="The model to run (default: minilm for bert, smollm2-135m-instruct for llm).")
@click.option("--max-length", default=256, show_default=True)
@click.option("--text-col", default="text", show_default=True)
@click.option("--repeats", default=1, show_default=True, type=click.IntRange(min=1),
              help="Timed passes per method and batch size, taken in turn across methods; the median is reported.")
@click.option("--threads", default=0, show_default=True, type=click.IntRange(min=0),
              help="Threads for torch and onnxruntime alike (0: each library's default).")
@suite
def embed(data: str, methods: str, limit: int | None, seed: int, batch_sizes: list[int], embedder_name: str,
          model: str | None, max_length: int, text_col: str, repeats: int, threads: int) -> BenchReport:
    """Texts/s, tokens/s and GFLOP/s of torch, ONNX and int8 ONNX embeddings of the same texts."""
    from transformers import AutoConfig

    from latentstack.data.labeled import load_labeled

    chosen = _methods_for(embedder_name, methods)
    model = model or ("smollm2-135m-instruct" if embedder_name == "llm" else "minilm")
    texts = [t for part in load_labeled(data, text_col=text_col).values() for t in part.texts]
    if limit is not None and limit < len(texts):
        rng = np.random.default_rng(seed)
        texts = [texts[i] for i in sorted(rng.choice(len(texts), limit, replace=False))]
    if threads:
        import torch

        torch.set_num_threads(threads)
    runner = Runner(model, max_length, scratch_dir("embed"), threads, embedder_name)
    hf_config = AutoConfig.from_pretrained(runner.base.resolved.path)
    lengths = runner.tokenizer_lengths(texts)
    measured = measured_peak_gflops()
    report = BenchReport("embed", Path(data).name, len(texts),
                         params={"embedder": embedder_name, "model": model, "max_length": max_length,
                                 "batch_sizes": batch_sizes, "repeats": repeats,
                                 "tokens": int(sum(lengths)), "peak_gflops_measured_fp32_matmul": round(measured, 1),
                                 "threads_asked": threads or None,
                                 "peak_gflops_theoretical_fp32": theoretical_peak_gflops(threads or usable_cores())})
    report.chart = timing_chart("texts_per_s", "texts/s")
    report.params |= _auto_choice(runner, chosen)
    fns = {}
    for method in chosen:
        try:
            fns[method] = runner.embed_fn(method)
        except ImportError as exc:
            log(f"skipping {method}: {exc}")
    seconds: dict[tuple[str, int], list[float]] = defaultdict(list)
    vectors: dict[tuple[str, int], np.ndarray] = {}
    for rep in range(repeats):  # in turn, so that a slow spell of the machine hits every method alike
        for method, fn in fns.items():
            for bs in batch_sizes:
                if rep == 0:
                    fn(texts[: min(len(texts), 2 * bs)], bs)  # warm up
                start = time.perf_counter()
                vecs = np.asarray(fn(texts, bs), dtype=np.float32)
                seconds[method, bs].append(time.perf_counter() - start)
                vectors.setdefault((method, bs), vecs)
                log(f"{method} batch {bs}, pass {rep + 1}/{repeats}: {len(texts) / seconds[method, bs][-1]:.1f} texts/s")
    for method in fns:
        for bs in batch_sizes:
            report.results.append(_result(method, bs, seconds[method, bs], vectors, texts, lengths, hf_config, runner))
    if runner.export_s is not None:
        report.params["onnx_export_s"] = round(runner.export_s, 1)
    return report


def _result(method: str, bs: int, runs: list[float], vectors: dict[tuple[str, int], np.ndarray], texts: list[str],
            lengths: list[int], hf_config: Any, runner: Runner) -> MethodResult:
    """One row: the median pass's timing; cosines of the first pass against torch-fp32 (none when it did not run)."""
    import statistics

    from latentstack_onnx.export import cosines

    took = statistics.median(runs)
    # sentence-transformers sorts its batches by characters, so it pads (and computes) more than we do
    keys = [len(t) for t in texts] if method == "sentence-transformers" else lengths
    flops = sum(encoder_flops(hf_config, [lengths[i] for i in b]) for b in batches(keys, bs))
    ref = vectors.get(("torch-fp32", bs))  # at the same batch size when it ran there, else at any
    if ref is None:
        ref = next((v for (m, _), v in vectors.items() if m == "torch-fp32"), None)
    metrics: dict[str, float] = {}
    if ref is not None:
        cos = cosines(ref, vectors[method, bs])
        metrics = {"cosine_mean": round(float(cos.mean()), 6), "cosine_min": round(float(cos.min()), 6)}
    timing = {"texts_per_s": round(len(texts) / took, 1), "tokens_per_s": round(sum(lengths) / took, 1),
              "gflops_per_s": round(flops / took / 1e9, 3), "seconds": round(took, 2)}
    extra: dict[str, Any] = {"batch_size": bs}
    if len(runs) > 1:
        extra["texts_per_s_passes"] = [round(len(texts) / t, 1) for t in runs]
    if method.startswith("onnx-") and bs == 32:
        extra["op_time_share"] = profile_ops(runner._export(), method.split("-")[1], texts[:512], bs, runner.threads)
    return MethodResult(f"{method} b{bs}", metrics, timing, extra)
