"""Plugin ``lora``: low-rank adapters on PEFT, saved in PEFT's own format."""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_lora.adapter import LoraAdapter


@hookimpl
def register_adapters(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register ``lora``."""
    register(LoraAdapter)
