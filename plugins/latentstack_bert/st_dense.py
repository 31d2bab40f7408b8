"""sentence-transformers' Dense modules as their folders describe them (no torch here).

LaBSE, the multilingual distiluse models and sentence-T5 project the pooled vector through
one or more ``Dense`` modules (``2_Dense/config.json`` and its weights) before normalising
it; without them the vectors are not the model's, nor of its length. A module folder names
its sizes, bias, activation (a ``torch.nn`` class, as sentence-transformers loads it without
``trust_remote_code``) and an optional residual; ``dense_head`` reads its weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn, TypeGuard

import attrs

from latentstack.errors import InputError

_EMBEDDING = "sentence_embedding"  # the only features key the bert embedder pools into
_TANH = "torch.nn.modules.activation.Tanh"  # sentence-transformers' default activation


@attrs.frozen
class Projection:
    """One Dense module: activation(linear(x)), plus x (or its projection) with a residual."""

    folder: Path
    in_features: int
    out_features: int
    bias: bool = True
    activation: str = _TANH
    residual: bool = False


def read_projection(folder: Path, config: dict[str, Any]) -> Projection:
    """The Dense module of ``folder`` from its config.json (already read); a key it cannot honour is an InputError."""
    n_in, n_out = config.get("in_features"), config.get("out_features")
    if not (_size(n_in) and _size(n_out)):
        refuse(folder, f"in_features and out_features are {n_in!r} and {n_out!r}, not positive integers")
    for key in ("module_input_name", "module_output_name"):
        if config.get(key) not in (_EMBEDDING, None):
            refuse(folder, f"{key} is {config[key]!r}; the bert embedder projects only the sentence embedding")
    activation = config.get("activation_function") or _TANH
    if not isinstance(activation, str) or not activation.startswith("torch.nn."):
        refuse(folder, f"activation_function {activation!r} is not a torch.nn class (no code is run from a model "
                       "folder)")
    return Projection(folder, n_in, n_out, bias=config.get("bias", True) is not False,
                      activation=activation, residual=config.get("use_residual") is True)


def _size(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_chain(pooled: int, projections: tuple[Projection, ...]) -> None:
    """Each projection reads what the one before it gives (the first, the pooled vector's ``pooled`` values)."""
    for projection in projections:
        if projection.in_features != pooled:
            refuse(projection.folder, f"in_features is {projection.in_features}, but the vector before it has "
                                      f"{pooled} values: restore the folder the model came with")
        pooled = projection.out_features


def refuse(folder: Path, why: str) -> NoReturn:
    """An InputError naming the Dense module's folder."""
    msg = f"Dense module {str(folder)!r}: {why}"
    raise InputError(msg)
