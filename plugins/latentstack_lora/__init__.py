"""Plugin ``lora``: low-rank adapters on PEFT, saved in PEFT's own format."""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_lora.adapter import LoraAdapter

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"peft": "latentstack[lora]", "torch": "latentstack[lora]"}



@hookimpl
def register_adapters(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register ``lora``."""
    register(LoraAdapter)
