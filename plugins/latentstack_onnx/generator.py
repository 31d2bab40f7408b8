"""An ONNX Runtime GenAI export as a Generator: chat template, greedy or sampled, streamed, no torch.

``model`` names either an export folder written by ``latentstack export onnx`` (its base,
adapter and precision must be what the options ask for, or it is refused) or a model
(name or folder): then the export for that model, ``adapter`` and ``precision`` is built
once, checked against torch, and kept under ``$LATENTSTACK_HOME/exports`` for every later
use, the way bench embed keeps its encoder exports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import attrs

from latentstack.errors import ConfigError, InputError, ModelMismatchError
from latentstack.interfaces import GenerationConfig, GeneratorConfig
from latentstack.interfaces.generator import Messages, ScoredPiece, ScoringGenerator
from latentstack.json_schema import SchemaConstraint, schema_tokenizer
from latentstack.kept_prefix import budget_option, kept_after, read_into, slots_option
from latentstack.prompt_lookup import draft_option
from latentstack.scored import Scored, answer_pieces
from latentstack_onnx.genai_raw import RawPrompts
from latentstack_onnx.kept_generator import KeptGenerator, kv_bytes_per_token

PRECISIONS = ("", "fp32", "int8", "int4")
DEFAULT_PRECISION = "int8"


@attrs.frozen(kw_only=True)
class GenaiConfig(GeneratorConfig):
    """The export to run, or the model, adapter and precision to export (once) and run."""

    model: str = "smollm2-135m-instruct"
    adapter: str = ""
    #: fp32, int8 or int4; '' means int8 when exporting (the fastest that kept RAG answers within 0.02 F1 of torch,
    #: benchmarks/results/generate-onnx), and whatever an export folder holds.
    precision: str = attrs.field(default="", validator=attrs.validators.in_(PRECISIONS))
    #: int4 exports built here: keep a 4-bit source's own grid (source_grid.py) where the model has one; False
    #: rounds the weights anew with activation-aware scaling.
    grid: bool = True
    #: How many answers' KV caches are kept for prompts that begin the same way (latentstack.kept_prefix).
    prefix_cache: int = slots_option()
    #: The MiB the kept caches may take together, the last answer's kept whatever it weighs (kept_prefix.BUDGET_MB).
    prefix_cache_mb: int = budget_option()
    #: Up to this many tokens found earlier checked a pass (latentstack.prompt_lookup); 0, the
    #: default: a token a pass. An int8 export quantizes activations over the tokens read together, so its answers
    #: then part from a token-a-pass reading's (benchmarks/results/prompt-lookup).
    prompt_lookup: int = draft_option(0)


def _export_manifest(path: Path) -> Any:
    """The checked manifest of a decoder export folder, or None when ``path`` is not one."""
    from latentstack.storage import read_manifest

    if not (path / "manifest.json").is_file():
        return None
    found = read_manifest(path, kind="export", plugin="onnx")
    if not found.data.get("decoder"):
        msg = f"{path} is an ONNX encoder export; the onnx generator needs a decoder export (--model a causal LM)"
        raise ConfigError(msg)
    return found


def cached_export(model: str, adapter: str, precision: str, grid: bool = True) -> Path:
    """The export folder for (model, adapter, precision) under $LATENTSTACK_HOME/exports, built on first use."""
    import importlib.metadata

    from latentstack.progress import log
    from latentstack.sources import latentstack_home, resolve_model
    from latentstack_onnx.act_aware import VERSION as AWQ_VERSION
    from latentstack_onnx.decoder_export import RECIPES, DecoderExportConfig, adapter_fingerprint, uses_awq

    config = DecoderExportConfig(model=model, adapter=adapter, precision=precision, grid=grid)
    key = [resolve_model(model).fingerprint(), adapter_fingerprint(adapter), precision,
           importlib.metadata.version("onnxruntime-genai"), RECIPES.get(precision, [])]
    if uses_awq(config):
        from latentstack_onnx.calibration import decoder_calibration

        key += [f"awq-{AWQ_VERSION}", hashlib.sha256(repr(decoder_calibration()).encode()).hexdigest()]
    if config.grid and precision == "int4":
        from latentstack_onnx.source_grid import RECIPE, VERSION

        key += [f"grid-{VERSION}", RECIPE]
    folder = latentstack_home() / "exports" / f"decoder-{hashlib.sha256(repr(key).encode()).hexdigest()[:20]}"
    if not (folder / "manifest.json").is_file():
        from latentstack_onnx.decoder_export import export_decoder

        log(f"no {precision} ONNX export of {model} yet: building it once into {folder}")
        export_decoder(config, folder)
    return folder


class GenaiGenerator(RawPrompts, ScoringGenerator):
    """Chat messages through the export's chat template, decoded by ONNX Runtime GenAI with its KV cache.

    Picking follows the ``llm`` generator's rules (genai_decode.py), so greedy answers are
    the torch model's wherever the export's parity holds. ``use_adapter`` moves to the
    export with that adapter merged in (built once when ``model`` names a model).
    """

    name = "onnx"
    Config = GenaiConfig
    config: GenaiConfig

    def __init__(self, config: GenaiConfig | None = None) -> None:
        super().__init__(config)
        self.adapter = self.config.adapter
        self._folders: dict[str, Path] = {}  # adapter -> its export, checked once
        self._loaded: dict[Path, Any] = {}  # export -> its GenAI model and tokenizer, loaded once
        self._schema_tokenizers: dict[Path, Any] = {}  # export -> llguidance's view of it, for JSON schemas

    @cached_property
    def _given(self) -> Any:
        """The manifest when ``model`` is an export folder (None when it names a model)."""
        return _export_manifest(Path(self.config.model))

    @property
    def folder(self) -> Path:
        """The export this generator runs now."""
        return self._folder_for(self.adapter)

    def _folder_for(self, adapter: str) -> Path:
        if adapter not in self._folders:
            if self._given is None:
                folder = cached_export(self.config.model, adapter, self.config.precision or DEFAULT_PRECISION,
                                       self.config.grid)
            else:
                self._check_given(adapter)
                folder = Path(self.config.model)
            self._folders[adapter] = folder
        return self._folders[adapter]

    def _check_given(self, adapter: str) -> None:
        """An export folder must hold the adapter and precision asked for."""
        from latentstack_onnx.decoder_export import adapter_fingerprint

        data = self._given.data
        merged = (data.get("adapter") or {}).get("fingerprint", "")
        if adapter and adapter_fingerprint(adapter) != merged:
            msg = (f"the export at {self.config.model} has {'adapter ' + data['adapter']['path'] if merged else 'no adapter'}"
                   f" merged in, not {adapter}; export again with --adapter {adapter}, or pass the model name")
            raise ModelMismatchError(msg)
        if self.config.precision and self.config.precision != data["precision"]:
            msg = (f"the export at {self.config.model} is {data['precision']}, not {self.config.precision}; "
                   "export that precision, or leave precision unset")
            raise ModelMismatchError(msg)

    @property
    def text(self) -> Any:
        """The GenAI model, tokenizer, stop tokens and window of the current export (loaded once per export)."""
        from latentstack.storage import read_manifest
        from latentstack_onnx.genai_tokens import GenaiText

        folder = self.folder
        if folder not in self._loaded:
            read_manifest(folder, kind="export", plugin="onnx")  # every file's checksum, before onnxruntime reads it
            self._loaded[folder] = GenaiText(folder)
        return self._loaded[folder]

    def use_adapter(self, path: str) -> None:
        """Run the export with the adapter at ``path`` merged in ('' for the plain model)."""
        self._folder_for(path)  # refuses a mismatch now
        self.adapter = path

    @property
    def context_window(self) -> int:
        """How many tokens (prompt + answer) the exported model attends to."""
        return int(self.text.context)

    def fingerprint(self) -> str:
        """The export's manifest digest."""
        from latentstack.storage import read_manifest

        return f"onnx-genai:{read_manifest(self.folder, kind='export', plugin='onnx', verify=False).digest[:16]}"

    def count_tokens(self, text: str) -> int:
        """Tokens in a piece of text (no chat markup)."""
        return self.text.count(text)

    def count_prompt_tokens(self, prompt: str | Messages) -> int:
        """Tokens of the chat-templated prompt."""
        return len(self.text.prompt_ids(prompt))

    def _constraint(self, schema: str) -> SchemaConstraint | None:
        """The constraint of a JSON schema on the current export (None for free text)."""
        if not schema:
            return None
        text = self.text
        if self.folder not in self._schema_tokenizers:
            self._schema_tokenizers[self.folder] = schema_tokenizer(text.backend, text.vocab_size, text.stops)
        return SchemaConstraint(self._schema_tokenizers[self.folder], schema)

    def pieces(self, prompt: str | Messages, options: GenerationConfig, top: int | None) -> Iterator[ScoredPiece]:
        """The answer's pieces, stopped at an end token, max_new_tokens or a stop string; with ``top`` (not None)
        each with its tokens scored."""
        return self.continued(self.text.prompt_ids(prompt), options, top)

    def continued(self, ids: list[int], options: GenerationConfig, top: int | None) -> Iterator[ScoredPiece]:
        """``pieces`` of the text that follows the token ids ``ids``."""
        from latentstack_onnx.genai_decode import decode_steps, log_probs

        text = self.text
        if len(ids) + options.max_new_tokens > self.context_window:
            msg = (f"the prompt is {len(ids)} tokens; with max_new_tokens={options.max_new_tokens} that exceeds the "
                   f"model's context window of {self.context_window} tokens: shorten the prompt or ask for fewer "
                   "new tokens")
            raise InputError(msg)
        constraint = self._constraint(options.json_schema)
        key, read, need = str(self.folder), list(ids), len(ids) + options.max_new_tokens
        roomed, start = (self.kept.take_generator(key, read, need, text.model, self.context_window, text.floor)
                         if self.config.prefix_cache else ((None, 0), 0))
        keep = None if roomed[0] is None else (lambda: self.kept.keep_generator(key, read, roomed, text.floor))
        steps = decode_steps(text.model, ids, options, stop_ids=text.stops, floor=text.floor, constraint=constraint,
                             generator=roomed[0], start=start, lookup=self.config.prompt_lookup)
        yield from kept_after(answer_pieces(read_into(steps, read), text.feeder(), lambda: "", options.stop,
                                            Scored(text.backend, top, log_probs), options.max_new_tokens, constraint,
                                            cached=start, prompt=len(read)), keep)

    @cached_property
    def kept(self) -> KeptGenerator:
        """The last answers' GenAI generators (``prefix_cache`` of them), for prompts that begin the same way."""
        return KeptGenerator(self.config.prefix_cache, self.config.prefix_cache_mb, kv_bytes_per_token(self.folder))
