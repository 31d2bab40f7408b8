"""LoRA (Hu et al. 2021) through PEFT: attach, count, save, load, merge, unload.

Serves both encoders (targets ``query``/``value`` in BERT) and decoders (``q_proj``/
``v_proj`` in Llama, ``c_attn`` in GPT-2); given no targets, the model type's usual ones, and
``all-linear`` every linear layer of the body (targets.py). Saved
folders are PEFT's (adapter_config.json + adapter_model.safetensors) plus latentstack's
``manifest.json`` with the base model's fingerprint and the layers adapted, so loading onto
another base model is an error instead of silent garbage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from latentstack.errors import InputError, ModelMismatchError
from latentstack.interfaces import Adapter, AdapterConfig
from latentstack.interfaces.base import names
from latentstack.progress import log
from latentstack.storage import MANIFEST, component_dir, read_manifest, write_manifest
from latentstack_lora.targets import conv1d_targets, resolve_targets

SAVE_DTYPES = ("float32", "bfloat16", "float16")


def cast_safetensors(file: Path, dtype: str) -> None:
    """Rewrite a safetensors file with its floating-point tensors cast to ``dtype`` (metadata kept)."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    target = getattr(torch, dtype)
    with safe_open(str(file), framework="pt") as fh:
        metadata = fh.metadata()
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 - safe_open has no __iter__
    tensors = {k: v.to(target) if v.is_floating_point() else v for k, v in tensors.items()}
    mode = file.stat().st_mode
    save_file(tensors, str(file), metadata=metadata)
    file.chmod(mode)  # safetensors writes 0600; keep the mode the first save gave it


@attrs.frozen(kw_only=True)
class LoraConfig(AdapterConfig):
    """Rank, scaling and where the low-rank matrices go."""

    rank: int = attrs.field(default=8, validator=attrs.validators.gt(0))
    alpha: float = attrs.field(default=16.0, validator=attrs.validators.gt(0))
    dropout: float = attrs.field(default=0.1, validator=[attrs.validators.ge(0.0), attrs.validators.lt(1.0)])
    modules_to_save: tuple[str, ...] = attrs.field(default=(), converter=names)


class LoraAdapter(Adapter):
    """Low-rank updates W + (alpha/r)·B·A on the target linear layers; the base stays frozen."""

    name = "lora"
    Config = LoraConfig
    config: LoraConfig

    def attach(self, model: Any) -> Any:
        """Wrap ``model`` in a PeftModel whose only trainable weights are the adapters (and modules_to_save)."""
        from peft import LoraConfig as PeftLoraConfig
        from peft import PeftModel, get_peft_model

        if isinstance(model, PeftModel):
            msg = ("the model already carries an adapter: attach to the base model, or load a second adapter onto "
                   "it by name (load(..., name=...))")
            raise InputError(msg)
        c = self.config
        targets = resolve_targets(model, c.targets)
        peft_config = PeftLoraConfig(r=c.rank, lora_alpha=c.alpha,  # type: ignore[arg-type] # PEFT takes a float
                                     lora_dropout=c.dropout, target_modules=list(targets),
                                     fan_in_fan_out=conv1d_targets(model, targets),
                                     modules_to_save=list(c.modules_to_save) or None)
        return get_peft_model(model, peft_config)

    def save(self, model: Any, path: str | Path, base_fingerprint: str = "", dtype: str = "float32") -> None:
        """PEFT's files under a checksummed manifest (base fingerprint, saved dtype), atomically.

        ``dtype`` "bfloat16" or "float16" stores the adapter's floating-point weights at half
        the bytes; PEFT casts them back to the model's dtype when it loads them.
        """
        if dtype not in SAVE_DTYPES:
            msg = f"cannot save an adapter as {dtype!r}; choose one of {', '.join(SAVE_DTYPES)}"
            raise InputError(msg)
        _carrying(model, "save")
        with component_dir(path, "adapter") as tmp:
            model.save_pretrained(tmp)
            if dtype != "float32":
                cast_safetensors(tmp / "adapter_model.safetensors", dtype)
            write_manifest(tmp, kind="adapter", plugin=self.name, config=self.config.to_dict(),
                           data={"base_fingerprint": base_fingerprint, "saved_dtype": dtype,
                                 "targets": _targets_of(model)})

    def saved_options(self, path: str | Path) -> dict[str, Any]:
        """The options the adapter at ``path`` was made with."""
        return read_manifest(path, kind="adapter", plugin=self.name, verify=False).config

    def check_base(self, path: str | Path, base_fingerprint: str = "") -> Path:
        """The adapter folder, checked whole and to belong to this base model."""
        path = Path(path)
        if not (path / MANIFEST).exists() and (path / "adapter_config.json").exists():
            if not (path / "adapter_model.safetensors").exists():
                pickled = sorted(p.name for p in path.glob("adapter_model.*"))
                msg = (f"the PEFT adapter at {path} holds its weights as {', '.join(pickled) or 'no file'}, not "
                       "adapter_model.safetensors" + (": a pickle can run code when loaded, and latentstack never "
                       "unpickles; save it again with PEFT's save_pretrained(safe_serialization=True)" if pickled
                       else ""))
                raise InputError(msg)
            log(f"{path} is a PEFT adapter without a latentstack manifest: its base model cannot be checked")
            return path
        manifest = read_manifest(path, kind="adapter", plugin=self.name)
        saved = str(manifest.data.get("base_fingerprint", ""))
        if base_fingerprint and saved and saved != base_fingerprint:
            msg = (f"the adapter at {path} was trained on a base model with fingerprint {saved}, "
                   f"not this one ({base_fingerprint}); load it onto its own base model")
            raise ModelMismatchError(msg)
        return manifest.path

    def load(self, model: Any, path: str | Path, base_fingerprint: str = "", *, name: str = "default",
             trainable: bool = False) -> Any:
        """Attach saved adapter weights to ``model`` (trainable to go on training them); another base model is a ModelMismatchError."""
        from peft import PeftModel

        path = self.check_base(path, base_fingerprint)
        try:
            if isinstance(model, PeftModel):  # a second adapter on the same base, switched by name
                model.load_adapter(str(path), adapter_name=name, is_trainable=trainable)
                return model
            return PeftModel.from_pretrained(model, path, adapter_name=name, is_trainable=trainable)
        except (RuntimeError, ValueError, KeyError) as exc:
            msg = f"the adapter at {path} does not fit this base model: {str(exc).splitlines()[0]}"
            raise ModelMismatchError(msg) from exc

    def merge(self, model: Any) -> Any:
        """Fold the adapters into the base weights; returns the plain model."""
        return _carrying(model, "merge").merge_and_unload()

    def unload(self, model: Any) -> Any:
        """Drop the adapters, returning the untouched base model."""
        return _carrying(model, "unload").unload()


def _carrying(model: Any, action: str) -> Any:
    """``model`` if it carries an adapter (a PeftModel), else an InputError saying there is nothing to ``action``."""
    from peft import PeftModel

    if not isinstance(model, PeftModel):
        msg = f"the model carries no adapter to {action}: give the model that attach or load returned"
        raise InputError(msg)
    return model


def _targets_of(model: Any) -> list[str]:
    """The layers the active adapter of ``model`` (a PeftModel) is on, as its PEFT config names them."""
    peft_config = model.peft_config[model.active_adapter]
    targets = peft_config.target_modules
    return sorted(targets) if isinstance(targets, set | list | tuple) else [str(targets)]
