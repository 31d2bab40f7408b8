"""Export a causal LM (with a LoRA adapter merged in) to ONNX Runtime GenAI, checked against torch first.

The adapter is merged into the base weights; for int4 the weights are then scaled on
calibration prompts (activation-aware, act_aware.py) so that rounding loses less where
activations are large. An int4 export of a model whose weights lie on a 4-bit grid already
(one converted from a GGUF Q4 file) keeps that grid instead, with the adapter beside it in
float (source_grid.py): nothing is rounded twice. The model is saved to a scratch folder,
and ONNX Runtime GenAI's model builder writes the graph (KV cache, the model's tokenizer
and chat template beside it) at fp32, int8 or int4. The build is then compared with the
torch model on probe prompts (decoder_parity.py) before anything is published: an export
that fails leaves nothing behind. The manifest records the base and adapter fingerprints,
the precision, the builder's version, the scaling or the kept grid, and the parity figures.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import random
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from latentstack.errors import ConfigError, LatentstackError, ParityError
from latentstack.interfaces.base import Config
from latentstack.progress import log
from latentstack.storage import component_dir, write_manifest

FORMAT = 1
Messages = list[dict[str, str]]
PRECISIONS = ("fp32", "int8", "int4")
#: The builder's extra options per precision: int4 in blocks of 16 weights instead of 32, with the attention and
#: MLP-down MatMuls of the first and last eighth of the layers and every third layer between left in int8
#: (llama.cpp's mixed layers), kept the loss of torch's answers closest to torch among the recipes tried
#: (benchmarks/results/generate-onnx/README.md).
RECIPES: dict[str, list[str]] = {"int4": ["block_size=16", "matmul_mixed_precision=mixed_layers:int8"]}
#: Tokens of each calibration prompt the scaling looks at, and prompts (a seeded sample of more), at most: the scaling
#: keeps 2,048 tokens' activations, so more prompts only cost time.
CALIBRATION_TOKENS = 1024
CALIBRATION_PROMPTS = 128
#: Files of a model folder the builder and the runtime need beside the weights.
SIDE_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
              "generation_config.json")


@attrs.frozen(kw_only=True)
class DecoderExportConfig(Config):
    """What to export: the base model, the adapter merged into it, the weights' precision."""

    model: str = "smollm2-135m-instruct"
    adapter: str = ""
    precision: str = attrs.field(default="int8", validator=attrs.validators.in_(PRECISIONS))
    #: Tokens of each probe answer compared with torch.
    probe_tokens: int = attrs.field(default=32, validator=attrs.validators.gt(0))
    #: int4 only: activation-aware weight scaling (act_aware.py) on calibration prompts before the builder quantises.
    awq: bool = True
    #: int4 only: keep a 4-bit source's own grid, the adapter beside it in float (source_grid.py), where the model
    #: qualifies; the scaling applies otherwise.
    grid: bool = True


def uses_awq(config: DecoderExportConfig) -> bool:
    """Whether the export scales its weights first: int4 with ``awq`` on (int8 loses too little to need it)."""
    return config.awq and config.precision == "int4"


def is_decoder(model_dir: Path) -> bool:
    """True when the folder's config.json names a causal LM architecture (``...ForCausalLM``, or one transformers'
    causal-LM table holds under another name: GPT-2's ``GPT2LMHeadModel``)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES as CAUSAL

    known = set(CAUSAL.values())
    return any(a.endswith("ForCausalLM") or a in known for a in _architectures(model_dir))


def _architectures(model_dir: Path) -> list[str]:
    """The architectures the folder's config.json names (none when it cannot be read)."""
    try:
        return [str(a) for a in json.loads((Path(model_dir) / "config.json").read_text()).get("architectures") or []]
    except (OSError, ValueError):
        return []


def check_buildable(model_dir: Path, name: str) -> None:
    """A ConfigError, before any work, for a folder that is not a causal LM, or whose architecture onnxruntime-genai's
    model builder does not build (the names its dispatch compares, read from its source without importing it; no
    check when none are found)."""
    import importlib.util
    import re

    if not is_decoder(model_dir):
        msg = f"{name} is not a causal LM (config.json names no causal LM architecture, such as ...ForCausalLM)"
        raise ConfigError(msg)
    spec = importlib.util.find_spec("onnxruntime_genai.models.builder")
    try:
        source = Path(spec.origin).read_text(encoding="utf-8") if spec and spec.origin else ""
    except OSError:
        return
    arch = _architectures(model_dir)[0]  # a decoder names one at least
    built = set(re.findall(r'architectures\[0\] == "(\w+)"', source))
    if built and arch not in built:
        causal = sorted(a.removesuffix("ForCausalLM") for a in built if a.endswith("ForCausalLM"))
        msg = (f"onnxruntime-genai's model builder does not build {arch} ({name}); it builds these causal LMs: "
               f"{', '.join(causal)}. Generate with the torch generator instead (--generator llm)")
        raise ConfigError(msg)


def adapter_fingerprint(path: str) -> str:
    """The saved adapter's manifest digest ('' for none)."""
    from latentstack.storage import read_manifest

    return read_manifest(path, kind="adapter", version=None).digest if path else ""


def _torch_model(resolved: Any, adapter: str) -> Any:
    """The float32 base model with the adapter merged in (its fingerprint checked), and its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM

    from latentstack.hf import load_tokenizer, quiet_transformers

    quiet_transformers()
    model = AutoModelForCausalLM.from_pretrained(resolved.path, dtype=torch.float32).eval()
    if adapter:
        from latentstack import get_adapter

        lora = get_adapter("lora")
        model = lora.merge(lora.load(model, adapter, resolved.fingerprint())).eval()
    return model, load_tokenizer(resolved.path)


def _merged_folder(model: Any, base: Path, scratch: Path) -> Path:
    """A model folder with the merged weights and the base's tokenizer files, for the builder."""
    folder = scratch / "merged"
    model.save_pretrained(folder, safe_serialization=True)
    for name in SIDE_FILES:
        if (base / name).exists():
            shutil.copy2(base / name, folder / name)
    return folder


def calibration_ids(tokenizer: Any, prompt: str | Messages) -> list[int]:
    """A calibration prompt's token ids: a text as the user's message, or chat messages (a conversation that ends
    with the assistant's reply is taken whole, one that ends with the user's gets the generation prompt)."""
    from latentstack.chat_template import for_template

    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else for_template(tokenizer, list(prompt))
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=messages[-1]["role"] != "assistant",
                                         tokenize=False)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _calibrate(model: Any, tokenizer: Any, prompts: Sequence[str | Messages], precision: str) -> dict[str, Any]:
    """AWQ-scale ``model`` in place on the chat-templated calibration prompts, for the recipe's block size."""
    import torch

    from latentstack_onnx.act_aware import awq, supported

    if not supported(model):
        msg = (f"activation-aware scaling knows Llama-style decoders, not {type(model).__name__}; "
               "export with --no-awq")
        raise ConfigError(msg)
    options = dict(o.split("=", 1) for o in RECIPES.get(precision, []))
    chosen = random.Random(0).sample(list(prompts), CALIBRATION_PROMPTS) if len(prompts) > CALIBRATION_PROMPTS \
        else prompts
    batches = [torch.tensor([calibration_ids(tokenizer, p)[:CALIBRATION_TOKENS]]) for p in chosen]
    log(f"scaling the weights for int4 on {len(batches)} calibration prompts (AWQ)")
    return {**awq(model, batches, block=int(options.get("block_size", 32))), "prompts": len(batches),
            "prompts_given": len(prompts)}


def _grid_plan(model: Any, base: Path) -> tuple[dict[str, Any], Any] | None:
    """The source-grid rewrite of ``model`` (the adapter merged into the weights in ``base``), or None."""
    from safetensors.torch import load_file

    from latentstack_onnx.source_grid import head_grid, plan

    files = sorted(base.glob("*.safetensors"))
    if not files:
        return None
    weights = {k: v.float().numpy() for f in files for k, v in load_file(f).items()}
    branches = plan(weights, {k: v.detach().numpy() for k, v in model.state_dict().items()})
    return None if branches is None else (branches, head_grid(weights))


def _run_builder(source: Path, out: Path, precision: str, scratch: Path, options: Sequence[str]) -> None:
    """ONNX Runtime GenAI's model builder, called in this process (its imports are most of a small build's
    time, and torch is loaded here already); what it prints or logs is kept out of the command's output."""
    cache = str(scratch / "builder-cache")
    try:
        with _kept_quiet():  # importing the builder imports the quantiser, which sets up logging
            from onnxruntime_genai.models.builder import create_model, parse_extra_options

            extra = parse_extra_options(None, str(source), str(out), precision, "cpu", cache, list(options))
            create_model(None, str(source), str(out), precision, "cpu", cache, **extra)
    except Exception as exc:  # the builder raises whatever its step raised; its message is what helps
        said = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        msg = f"onnxruntime-genai's model builder failed on {source}: {said}"
        raise LatentstackError(msg) from exc


@contextlib.contextmanager
def _kept_quiet() -> Iterator[None]:
    """Swallow prints, and undo the root logger's INFO handler that onnxruntime's int4 quantiser installs
    (``logging.basicConfig`` at its import) so that nothing it logs reaches the user later either."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _check_template(folder: Path, tokenizer: Any, prompts: Sequence[str]) -> None:
    """GenAI's chat template and tokenizer must give the torch generator's prompt ids, or answers would differ."""
    from latentstack_onnx.decoder_parity import torch_prompt_ids
    from latentstack_onnx.genai_tokens import GenaiText

    text = GenaiText(folder)
    for prompt in prompts:
        if text.prompt_ids(prompt) != torch_prompt_ids(tokenizer, prompt):
            msg = (f"the exported chat template or tokenizer in {folder} does not reproduce the torch prompt for "
                   f"{prompt!r}; nothing was written")
            raise ParityError(msg)


def export_decoder(config: DecoderExportConfig, out: str | Path, prompts: Sequence[str] | None = None,
                   calibration: Sequence[str | Messages] | None = None) -> dict[str, Any]:
    """Build, check and publish the export at ``out``; returns the manifest data. A failed check writes nothing.

    ``calibration`` prompts (texts or chat messages) set the int4 scaling (default: ``decoder_calibration()``'s
    texts and RAG prompts).
    """
    import onnxruntime_genai as og

    from latentstack.sources import resolve_model
    from latentstack_onnx.decoder_parity import PROBE_PROMPTS, check, torch_reference
    from latentstack_onnx.genai_tokens import genai_model, kv_floor, load_model, stop_ids
    from latentstack_onnx.source_grid import RECIPE, rewrite

    prompts = list(prompts or PROBE_PROMPTS)
    resolved = resolve_model(config.model)
    check_buildable(resolved.path, config.model)
    adapter_digest = adapter_fingerprint(config.adapter)
    model, tokenizer = _torch_model(resolved, config.adapter)
    refs = torch_reference(model, tokenizer, prompts, config.probe_tokens)
    grid = _grid_plan(model, resolved.path) if config.grid and config.precision == "int4" else None
    if grid:
        log("the weights lie on a 4-bit grid already: the export keeps it, the adapter beside it in float")
    scaling = None
    if uses_awq(config) and not grid:
        from latentstack_onnx.calibration import decoder_calibration

        scaling = _calibrate(model, tokenizer, list(calibration or decoder_calibration()), config.precision)
    options = RECIPE if grid else RECIPES.get(config.precision, [])
    with component_dir(out, "export") as tmp:
        scratch = Path(tmp).parent / f".{Path(tmp).name}.scratch"
        try:
            log(f"building the {config.precision} ONNX Runtime GenAI decoder for {config.model}"
                f"{' + ' + config.adapter if config.adapter else ''}")
            changed = (config.adapter or scaling) and not grid
            source = _merged_folder(model, resolved.path, scratch) if changed else resolved.path
            _run_builder(source, tmp, config.precision, scratch, options)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        rewritten = rewrite(tmp, *grid) if grid else None
        _check_template(tmp, tokenizer, prompts)
        genai = genai_model(tmp)
        parity = check(load_model(tmp), refs, config.precision, stop_ids(genai), config.probe_tokens, kv_floor(genai))
        if not parity["passed"]:
            msg = (f"the {config.precision} export fails parity against torch ({parity['rule']}): identical share "
                   f"{parity['identical_share']:.2f}, loss rise {parity['nll_rise']:.3f} nats on {len(refs)} probe "
                   "prompts; nothing was written")
            raise ParityError(msg)
        data = {"decoder": True, "precision": config.precision,
                "base": {"model": config.model, "fingerprint": resolved.fingerprint()},
                "adapter": {"path": str(Path(config.adapter).resolve()), "fingerprint": adapter_digest}
                if config.adapter else None,
                "builder": {"onnxruntime_genai": og.__version__, "options": options},
                "awq": scaling, "grid": rewritten, "parity": parity}
        write_manifest(tmp, kind="export", plugin="onnx", version=FORMAT, config=attrs.asdict(config), data=data)
    return data

