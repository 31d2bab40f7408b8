"""Loading a causal LM and its tokenizer from a model source, with LoRA adapters on top."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from latentstack.errors import ConfigError

DTYPES = ("float32", "bfloat16")


def load_causal_lm(path: Path, dtype: str, device: str) -> Any:
    """The causal LM of a local folder in eval mode, in ``dtype`` on ``device`` (never remote code)."""
    import torch
    from transformers import AutoModelForCausalLM

    from latentstack.hf import quiet_transformers

    quiet_transformers()
    if dtype not in DTYPES:
        msg = f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}"
        raise ConfigError(msg)
    _refuse_encoder(Path(path))
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
    except ValueError as exc:  # transformers' message lists every causal type it knows, some hundred
        if "Unrecognized configuration class" not in str(exc):
            raise
        kind = json.loads((Path(path) / "config.json").read_text()).get("model_type", "its")
        msg = (f"{path} holds no causal LM (a decoder that writes text): transformers has none for {kind} models "
               "(an encoder-decoder such as T5, or an encoder); give a decoder, e.g. smollm2-135m-instruct")
        raise ConfigError(msg) from None
    return model.eval().to(device)


def _refuse_encoder(path: Path) -> None:
    """A ConfigError for an encoder's folder (BERT, RoBERTa, BART...): transformers would build its causal class from
    the encoder's weights with a head and masks the encoder never trained with, and generate noise."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES as MASKED

    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return  # transformers' own error says what is wrong with the folder
    kind = config.get("model_type")
    if kind in MASKED and not config.get("is_decoder"):
        msg = (f"{path} holds an encoder ({kind}), not a causal LM (a decoder that writes text); give a decoder, "
               "e.g. smollm2-135m-instruct (an encoder embeds or classifies: the bert embedder, classify train)")
        raise ConfigError(msg)


def adapter_key(path: str | Path) -> str:
    """The name a PEFT adapter folder is registered under (its resolved path, dots made safe)."""
    return str(Path(path).resolve()).replace(".", "_")


class AdapterSwitch:
    """Several LoRA adapters on one base model; ``use(path)`` makes one active, ``use('')`` none.

    Adapters are loaded once each and stay in memory, so switching costs nothing after
    the first use. The base model's fingerprint is checked against each adapter's.
    """

    def __init__(self, model: Any, base_fingerprint: str) -> None:
        self.model = model
        self.base_fingerprint = base_fingerprint
        self.loaded: set[str] = set()
        self.active = ""
        self._base_lock = threading.Lock()
        self._base_rows = 0  # answers running under base_context (decoded together, ``parallel``)
        self._disabled: Any = None

    def use(self, path: str | Path) -> Any:
        """Activate the adapter at ``path`` ('' for the plain base model); returns the model to call."""
        if not path:
            self.active = ""
            return self.model
        key = adapter_key(path)
        if key not in self.loaded:
            self._load(Path(path), key)
        self.model.set_adapter(key)
        self.active = str(path)
        return self.model

    def _load(self, path: Path, key: str) -> None:
        from latentstack import get_adapter

        lora = get_adapter("lora")
        self.model = lora.load(self.model, path, self.base_fingerprint, name=key)
        self.model.eval()
        self.loaded.add(key)

    @contextlib.contextmanager
    def base_context(self) -> Iterator[None]:
        """A context under which the model runs without any adapter: the adapters are turned off when the first
        answer enters it and on again when the last leaves (answers decoded together share it)."""
        if not self.loaded or self.active:
            yield
            return
        with self._base_lock:
            if not self._base_rows:
                self._disabled = self.model.disable_adapter()
                self._disabled.__enter__()
            self._base_rows += 1
        try:
            yield
        finally:
            with self._base_lock:
                self._base_rows -= 1
                if not self._base_rows:
                    self._disabled.__exit__(None, None, None)
