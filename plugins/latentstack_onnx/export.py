"""Export a transformers-encoder embedder (``bert`` by default) (optionally with a LoRA adapter merged in) to ONNX, checked for parity.

The graph holds the encoder, the pooling, any Dense projections of a sentence-transformers
folder and the normalisation, with dynamic batch and
sequence axes (TorchScript exporter, eager attention, so that onnxruntime's BERT fusions
apply). Optional steps: onnxruntime's transformer graph optimisation, then dynamic int8
quantisation after activation smoothing (smoothing.py). Every variant is compared with the torch embedder on a probe set; the
cosines go into the manifest and a variant below its threshold fails the export, which
then leaves nothing behind (the folder is written atomically).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from latentstack.errors import ParityError
from latentstack.interfaces import Embedder
from latentstack.interfaces.base import Config
from latentstack.interfaces.embedder import EncoderSource
from latentstack.pooling import POOLINGS
from latentstack.progress import log
from latentstack.storage import component_dir, write_manifest

FORMAT = 1
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]  # the exported graph's inputs, in this order
THRESHOLDS = {"fp32": ("cosine_min", 0.9999), "int8": ("cosine_mean", 0.99)}


@attrs.frozen(kw_only=True)
class ExportConfig(Config):
    """What to export and how."""

    model: str = "minilm"
    #: The registered embedder the export reproduces; it must offer ``encoder_source()``.
    source: str = "bert"
    adapter: str = ""
    #: "auto": the source embedder's own choice (bert: a sentence-transformers folder's pooling, else mean).
    pooling: str = attrs.field(default="auto", validator=attrs.validators.in_(("auto", *POOLINGS)))
    normalize: bool = True
    #: None: the source embedder's own (bert: a sentence-transformers folder's max_seq_length, else 256).
    max_length: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.gt(1)))
    int8: bool = False
    #: SmoothQuant migration strength for int8 (0 turns smoothing off, and with it int8 QKV projections).
    smooth: float = attrs.field(default=0.5, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)])
    #: The int8 graph's GELU: "tanh" (onnxruntime's FastGelu, see gelu.py) or "erf" (exact, as fp32).
    int8_gelu: str = attrs.field(default="tanh", validator=attrs.validators.in_(("tanh", "erf")))
    optimize: bool = True
    per_channel: bool = True
    opset: int = 17


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity; two zero rows are the same vector (1.0): a tokenizer that adds no special token
    gives an empty text no token, and both runtimes its zero vector."""
    norm_a, norm_b = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    cos = np.sum(a * b, axis=1) / np.maximum(norm_a * norm_b, 1e-12)
    return np.where((norm_a < 1e-12) & (norm_b < 1e-12), 1.0, cos)


def _torch_model(source: EncoderSource, config: Any) -> Any:
    """The encoder (its folder's config is ``config``) with eager attention (and the adapter merged), for tracing."""
    from latentstack import get_adapter
    from latentstack.hf import encoder_loader

    model = encoder_loader(config).from_pretrained(source.path, attn_implementation="eager")
    if source.adapter:
        lora = get_adapter("lora")
        model = lora.merge(lora.load(model, source.adapter, source.fingerprint))
    return model.eval()


def _export(module: Any, tokenizer: Any, path: Path, opset: int) -> None:
    import torch

    sample = tokenizer(["a short text", "a somewhat longer text to trace with"], padding=True, return_tensors="pt")
    if "token_type_ids" not in sample:
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    axes = {n: {0: "batch", 1: "sequence"} for n in INPUTS} | {"embedding": {0: "batch"}}
    with torch.inference_mode():
        torch.onnx.export(module, tuple(sample[n] for n in INPUTS), str(path), input_names=INPUTS,
                          output_names=["embedding"], dynamic_axes=axes, opset_version=opset, dynamo=False,
                          do_constant_folding=True)


def _optimize(path: Path, hidden: int, heads: int, layers: int) -> int:
    """Fuse the graph with onnxruntime's transformer optimiser; returns how many attention blocks it fused.

    onnxruntime 1.30's optimiser fused none of MiniLM's attention blocks (1.31 and later fuse
    them): the graph still runs, but attention stays in fp32 pieces and int8 loses much of its gain.

    The residual Add and LayerNormalization are left unfused: onnxruntime's CPU
    SkipLayerNormalization kernel is slower than the two ops it replaces (docs/onnx.md has the
    timings). ``session()`` keeps onnxruntime from fusing them again when it loads the graph.
    """
    import onnxruntime
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False
    optimized = optimize_model(str(path), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1,
                               optimization_options=options)
    optimized.save_model_to_file(str(path))
    fused = sum(n.op_type == "Attention" for n in optimized.model.graph.node)
    if fused < layers:
        log(f"warning: onnxruntime {onnxruntime.__version__} fused attention in {fused} of {layers} layers; "
            "the export is correct but slower (onnxruntime >= 1.31 fuses BERT attention)")
    return fused


def calibration_feeds(tokenizer: Any, texts: Sequence[str], max_length: int) -> Iterator[dict[str, np.ndarray]]:
    """The calibration texts in batches of 16, as the exported graph's inputs."""
    from latentstack_onnx.embedder import feed

    return (feed(tokenizer, texts[i:i + 16], max_length, set(INPUTS)) for i in range(0, len(texts), 16))


def _quantize(src: Path, dst: Path, config: ExportConfig, feeds: Iterable[dict[str, np.ndarray]]) -> dict[str, Any]:
    """Dynamic int8, per output channel unless configured otherwise; returns the recipe for the manifest.

    With ``config.smooth`` > 0 (the default), the projections that read a LayerNorm output
    (QKV and the feed-forward's first MatMul) are smoothed first and then quantised with
    7-bit weights, QKV included (onnxruntime's QAttention); every other MatMul gets 8-bit
    weights. 7 bits because on CPUs without VNNI (AVX2) onnxruntime multiplies uint8 by int8
    with an instruction whose 16-bit pair sums saturate, and smoothed activations fill the
    uint8 range, so 8-bit weights lose parity there (docs/benchmarks.md, the int8 recipe
    table). Without smoothing only the MatMuls are quantised: QKV in int8 without it fell
    below the parity floor. With ``config.int8_gelu`` "tanh" (the default) the
    feed-forward's GELU is onnxruntime's tanh approximation (gelu.py).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from latentstack_onnx.gelu import tanh_gelu
    from latentstack_onnx.smoothing import smooth

    # The fused graph has com.microsoft ops that ONNX shape inference cannot type; they are float.
    extra = {"DefaultTensorType": onnx.TensorProto.FLOAT}

    def run(path: Path, out: Path, ops: list[str], nodes: list[str], reduce_range: bool) -> None:
        quantize_dynamic(str(path), str(out), weight_type=QuantType.QInt8, per_channel=config.per_channel,
                         reduce_range=reduce_range, op_types_to_quantize=ops, nodes_to_quantize=nodes,
                         extra_options=dict(extra))

    prepared = dst.with_name(dst.stem + ".prepared.onnx")
    smoothed = dst.with_name(dst.stem + ".smoothed.onnx")
    half = dst.with_name(dst.stem + ".half.onnx")
    try:
        gelu = "erf"
        if config.int8_gelu == "tanh" and tanh_gelu(src, prepared):
            src, gelu = prepared, "tanh"
        names = smooth(src, smoothed, feeds, config.smooth) if config.smooth else []
        if not names:  # smoothing off, or no projection reads a LayerNorm output
            run(src, dst, ["MatMul"], [], False)
            return {"smooth": 0.0, "smoothed_nodes": 0, "gelu": gelu}
        run(smoothed, half, ["MatMul", "Attention"], names, True)
        rest = [n.name for n in onnx.load(str(half)).graph.node if n.op_type == "MatMul"]
        if rest:  # an empty list would mean "every node" to the quantiser
            run(half, dst, ["MatMul"], rest, False)
        else:
            half.replace(dst)
    finally:
        for temporary in (prepared, smoothed, half):
            temporary.unlink(missing_ok=True)
    return {"smooth": config.smooth, "smoothed_nodes": len(names), "smoothed_weight_bits": 7, "gelu": gelu}


@contextlib.contextmanager
def _quiet_logging() -> Any:
    """onnxruntime's optimiser and quantiser log advice on the root logger; keep it to errors."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():  # tracer advice about shapes the dynamic axes already cover
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def _source(config: ExportConfig) -> Embedder:
    """The torch embedder the export reproduces, built through the registry."""
    from latentstack import get_embedder

    chosen = {key: value for key, value in (("pooling", config.pooling), ("max_length", config.max_length))
              if value not in ("auto", None)}
    return get_embedder(config.source, model=config.model, normalize=config.normalize, adapter=config.adapter,
                        dtype="float32", show_progress=False, **chosen)


def _build(config: ExportConfig, source: EncoderSource, tokenizer: Any, tmp: Path,
           calibration: Sequence[str] | None) -> tuple[dict[str, Path], dict[str, Any]]:
    """Write model.onnx (and model.int8.onnx) into ``tmp``; returns the files and the build facts."""
    from transformers import AutoConfig

    from latentstack_onnx.calibration import CALIBRATION
    from latentstack_onnx.graph import pooled_module

    hf = AutoConfig.from_pretrained(source.path)
    files = {"fp32": tmp / "model.onnx"}
    _export(pooled_module(_torch_model(source, hf), source.pooling, source.normalize, source.head), tokenizer,
            files["fp32"], config.opset)
    fusable = _bert_like(hf.model_type)
    facts: dict[str, Any] = {"fused_attention": None, "recipe": {}, "optimized": config.optimize and fusable}
    if config.optimize and not fusable:
        log(f"a {hf.model_type} body: onnxruntime's BERT fusions do not apply, so the graph is exported unfused")
    elif config.optimize:
        facts["fused_attention"] = _optimize(files["fp32"], hf.hidden_size, hf.num_attention_heads,
                                             hf.num_hidden_layers)
    if config.int8:
        files["int8"] = tmp / "model.int8.onnx"
        texts = list(calibration or CALIBRATION)
        recipe = _quantize(files["fp32"], files["int8"], config,
                           calibration_feeds(tokenizer, texts, source.max_tokens))
        if recipe["smoothed_nodes"]:
            recipe["calibration_texts"] = len(texts)
        facts["recipe"] = recipe
    return files, facts


def _bert_like(model_type: str) -> bool:
    """Whether onnxruntime's BERT optimiser can fuse the body: not a decoder's (Llama, Gemma: a causal LM type that is
    no masked LM), nor an encoder-decoder's encoder (T5)."""
    from transformers.models.auto import modeling_auto as auto

    from latentstack.hf import encoder_decoder_family

    decoder = model_type in auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES
    return not decoder and not encoder_decoder_family(model_type)


def _parity(files: dict[str, Path], tokenizer: Any, probe: Sequence[str], reference: np.ndarray,
            max_tokens: int) -> dict[str, dict[str, Any]]:
    """Each variant's cosines against the torch vectors; a variant under its floor is a ParityError."""
    from latentstack_onnx.embedder import run_session, session

    variants: dict[str, dict[str, Any]] = {}
    for name, file in files.items():
        cos = cosines(reference, run_session(session(file), tokenizer, probe, max_tokens, 32, reference.shape[1]))
        variants[name] = {"file": file.name, "bytes": file.stat().st_size,
                          "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min())}
        metric, floor = THRESHOLDS[name]
        if variants[name][metric] < floor:
            msg = (f"ONNX {name} export fails parity: {metric} {variants[name][metric]:.6f} < {floor} against "
                   f"the torch embedder on {len(probe)} probe texts; nothing was written. Try without "
                   f"--int8 or with --no-optimize to find the step that loses accuracy")
            raise ParityError(msg)
    return variants


def export_onnx(config: ExportConfig, out: str | Path, probe: Sequence[str] | None = None,
                classifier: str | Path | None = None, calibration: Sequence[str] | None = None) -> dict[str, Any]:
    """Export, optimise, quantise, check parity and write ``out`` atomically; returns the manifest data.

    ``probe`` texts check parity (default: the built-in PROBE); ``calibration`` texts set the
    int8 smoothing (default: the built-in CALIBRATION, which shares no text with PROBE).
    """
    from latentstack.hf import load_tokenizer, quiet_transformers
    from latentstack_onnx.probe import PROBE

    quiet_transformers()
    probe = list(probe or PROBE)
    embedder = _source(config)
    source = embedder.encoder_source()
    reference = embedder.embed_many(probe, None)  # the graph is checked on the texts as given; prompts are recorded
    tokenizer: Any = load_tokenizer(source.path)
    with component_dir(out, "export") as tmp, _quiet_logging():
        log(f"exporting {config.model}{' + ' + config.adapter if config.adapter else ''} to ONNX")
        files, facts = _build(config, source, tokenizer, tmp, calibration)
        tokenizer.save_pretrained(tmp)
        variants = _parity(files, tokenizer, probe, reference, source.max_tokens)
        if config.int8:
            variants["int8"]["recipe"] = facts["recipe"]
        data = {"dim": int(reference.shape[1]), "max_length": source.max_tokens, "optimized": facts["optimized"],
                "fused_attention": facts["fused_attention"],
                "source": {"name": embedder.name, "config": embedder.config.to_dict(),
                           "fingerprint": embedder.fingerprint()},
                "prompts": {kind: text for kind in ("query", "document", "") if (text := embedder.prompt(kind))},
                "probe_texts": len(probe), "variants": variants,
                "thresholds": {k: {"metric": m, "min": v} for k, (m, v) in THRESHOLDS.items()}}
        write_manifest(tmp, kind="export", plugin="onnx", version=FORMAT, config=attrs.asdict(config), data=data)
        if classifier:
            for name in files:
                variants[name]["classifier_agreement"] = _agreement(classifier, probe, tmp, name)
            write_manifest(tmp, kind="export", plugin="onnx", version=FORMAT, config=attrs.asdict(config),
                           data=data)
    return data


def _agreement(classifier: str | Path, probe: Sequence[str], folder: Path, variant: str) -> float:
    """Share of probe texts on which a saved classifier predicts the same label on torch and ONNX features."""
    from latentstack import get_embedder, load_classifier

    onnx_embedder = get_embedder("onnx", model=str(folder), variant=variant, show_progress=False)
    torch_labels = load_classifier(classifier).predict(list(probe))
    onnx_labels = load_classifier(classifier, embedder=onnx_embedder).predict(list(probe))
    return float(np.mean([a == b for a, b in zip(torch_labels, onnx_labels, strict=True)]))
