"""What a sentence-transformers model folder says about reading it: its pooling, length and case.

A folder saved by sentence-transformers holds, beside the transformer's files, ``modules.json``
(the modules applied in order), ``1_Pooling/config.json`` (how token states become one vector)
and ``sentence_bert_config.json`` (``max_seq_length``, ``do_lower_case``). BGE, for one, pools
[CLS] where MiniLM pools the mean: read as a plain transformers folder its vectors would be
silently other than the model's. Dense projections after the pooling (LaBSE, distiluse,
sentence-T5) are read by ``st_dense``. A module the bert embedder does not apply (a
CNN, say) is refused rather than skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

from latentstack.errors import InputError
from latentstack_bert.st_dense import Projection, read_projection

#: sentence-transformers' pooling modes as the bert embedder names them (those it computes).
POOLINGS = {"cls": "cls", "mean": "mean", "max": "max", "lasttoken": "last", "weightedmean": "weightedmean",
            "mean_sqrt_len_tokens": "mean_sqrt_len"}
#: The legacy boolean keys of 1_Pooling/config.json, in sentence-transformers' order.
LEGACY_KEYS = {"pooling_mode_cls_token": "cls", "pooling_mode_max_tokens": "max", "pooling_mode_mean_tokens": "mean",
               "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
               "pooling_mode_weightedmean_tokens": "weightedmean", "pooling_mode_lasttoken": "lasttoken"}
_APPLIED = ("Transformer", "Pooling", "Dense", "Normalize")


@attrs.frozen
class Layout:
    """How sentence-transformers reads the folder: its pooling modes (1_Pooling), length and case."""

    folder: Path
    modes: tuple[str, ...] = ("mean",)
    max_seq_length: int | None = None
    lowercase: bool = False
    #: config_sentence_transformers.json's prompts, and the name of the one every text gets by default.
    prompts: dict[str, str] = attrs.field(factory=dict)
    default_prompt: str | None = None
    include_prompt: bool = True
    #: The Dense modules after the pooling, in order (modules.json's).
    projections: tuple[Projection, ...] = ()

    def prompt(self, kind: str) -> str:
        """The prompt put before a text embedded as ``kind``, as sentence-transformers puts it: a query gets the
        ``query`` prompt (``encode_query``), a document the first of ``document``, ``passage`` and ``corpus``
        that is not empty (``encode_document``'s candidates; E5 names it passage), any other text the default
        prompt (``encode``); none where the folder names none."""
        if kind == "query":
            prompt = self.prompts.get("query", "")
        elif kind == "document":
            prompt = next((p for p in map(self.prompts.get, ("document", "passage", "corpus")) if p), "")
        else:
            prompt = self.prompts[self.default_prompt] if self.default_prompt else ""
        if prompt and not self.include_prompt:
            msg = (f"model folder {str(self.folder)!r} leaves its prompts out of the pooling (include_prompt false, "
                   "an instruction model), which the bert embedder does not do")
            raise InputError(msg)
        return prompt

    def pooling(self) -> str:
        """The folder's pooling as the bert embedder names it; an InputError where it computes no such pooling."""
        if len(self.modes) > 1 or self.modes[0] not in POOLINGS:
            msg = (f"model folder {str(self.folder)!r} pools by {' + '.join(self.modes)} (1_Pooling), which the bert "
                   f"embedder does not compute (it pools by {', '.join(POOLINGS)}); choose one with -o pooling=NAME, "
                   "knowing the vectors will not be the model's")
            raise InputError(msg)
        return POOLINGS[self.modes[0]]


def read_layout(folder: Path) -> Layout | None:
    """The folder's layout, or None for a plain transformers folder (no ``modules.json``)."""
    if not (folder / "modules.json").is_file():
        return None
    modes: tuple[str, ...] = ("mean",)
    include, projections = True, []
    modules = _modules(folder)
    kinds = [str(module.get("type", "")).rsplit(".", 1)[-1] for module in modules]
    _check_modules(folder, kinds, modules)
    for kind, module in zip(kinds, modules, strict=True):
        where = folder / str(module.get("path", ""))
        if kind == "Pooling":
            pooling = _object(where / "config.json")
            modes, include = _modes(pooling), pooling.get("include_prompt") is not False
        if kind == "Dense":
            projections.append(read_projection(where, _object(where / "config.json")))
    config = _object(folder / "sentence_bert_config.json")
    _check_modalities(folder, config.get("modality_config"))
    prompts, default = _prompts(folder)
    return Layout(folder, modes, _length(config, folder), lowercase=config.get("do_lower_case") is True,
                  prompts=prompts, default_prompt=default, include_prompt=include, projections=tuple(projections))


def _check_modalities(folder: Path, modalities: Any) -> None:
    """sentence-transformers 6 renders texts through the tokenizer's chat template where the folder's
    ``modality_config`` names ``message``; the bert embedder reads the text as it is, so such a folder is refused."""
    if isinstance(modalities, dict) and "message" in modalities:
        msg = (f"model folder {str(folder)!r}: its sentence_bert_config.json has sentence-transformers render each "
               "text through the chat template (modality_config 'message'), which the bert embedder does not, so its "
               "vectors would not be the model's; remove the 'message' entry to read plain texts, as "
               "sentence-transformers did before version 6")
        raise InputError(msg)


def _check_modules(folder: Path, kinds: list[str], modules: list[dict[str, Any]]) -> None:
    """Modules the bert embedder applies, in its order: the transformer, its pooling, any Dense projections,
    Normalize last; another module or order is an InputError."""
    for kind, module in zip(kinds, modules, strict=True):
        if kind not in _APPLIED:
            msg = (f"model folder {str(folder)!r}: its modules.json applies a {kind or 'nameless'} module "
                   f"({module.get('path') or 'no path'}), which the bert embedder does not, so its vectors would not "
                   "be the model's; use a model whose modules are Transformer, Pooling, Dense and Normalize")
            raise InputError(msg)
    rank = {kind: i for i, kind in enumerate(_APPLIED)}
    order = [rank[kind] for kind in kinds]
    if order != sorted(order) or any(kinds.count(kind) > 1 for kind in ("Transformer", "Pooling", "Normalize")):
        msg = (f"model folder {str(folder)!r}: its modules.json applies {' -> '.join(kinds)}, an order the bert "
               "embedder does not (Transformer, Pooling, Dense modules, then Normalize)")
        raise InputError(msg)


def _prompts(folder: Path) -> tuple[dict[str, str], str | None]:
    """config_sentence_transformers.json's prompts and default prompt name (a name it lacks is an InputError)."""
    path = folder / "config_sentence_transformers.json"
    config = _object(path)
    prompts, default = config.get("prompts") or {}, config.get("default_prompt_name")
    if not isinstance(prompts, dict) or not all(isinstance(v, str) for v in prompts.values()):
        msg = f"{path}: 'prompts' is not an object of texts: restore the file the model came with"
        raise InputError(msg)
    if default is not None and default not in prompts:
        msg = f"{path}: default_prompt_name {default!r} names no prompt (it has {', '.join(prompts) or 'none'})"
        raise InputError(msg)
    return prompts, default


def _length(config: dict[str, Any], folder: Path) -> int | None:
    """``max_seq_length``, or (as sentence-transformers 3 and later save it) the tokenizer's ``model_max_length``;
    None for neither or a placeholder (tokenizers write 1e30 for "no limit")."""
    length = config.get("max_seq_length", _object(folder / "tokenizer_config.json").get("model_max_length"))
    return length if isinstance(length, int) and 1 < length < 1_000_000 else None


def _modules(folder: Path) -> list[dict[str, Any]]:
    modules = _json(folder / "modules.json", [])
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        msg = f"{folder / 'modules.json'} is not a list of modules: restore the file the model came with"
        raise InputError(msg)
    return modules


def _modes(config: dict[str, Any]) -> tuple[str, ...]:
    """The pooling modes of a 1_Pooling/config.json: ``pooling_mode`` (a name or a list), or the legacy booleans."""
    modes = config.get("pooling_mode") or [mode for key, mode in LEGACY_KEYS.items() if config.get(key) is True]
    return (modes,) if isinstance(modes, str) else tuple(map(str, modes)) or ("mean",)


def _object(path: Path) -> dict[str, Any]:
    """A JSON object file of the folder ({} when absent); another value is an InputError."""
    value = _json(path, {})
    if not isinstance(value, dict):
        msg = f"{path} holds no JSON object: restore the file the model came with"
        raise InputError(msg)
    return value


def _json(path: Path, missing: Any) -> Any:
    """A JSON file of the folder (``missing`` when absent); a damaged one is an InputError."""
    if not path.is_file():
        return missing
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        msg = f"{path} is not valid JSON ({exc}): restore the file the model came with"
        raise InputError(msg) from None
