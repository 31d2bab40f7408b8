"""Plugin ``finetune``: an encoder with a classification head, trained end to end (full or LoRA)."""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_finetune.classifier import FinetuneClassifier

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"transformers": "latentstack[finetune]", "peft": "latentstack[finetune]", "sklearn": "latentstack[finetune]"}



@hookimpl
def register_classifiers(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register ``finetune``."""
    register(FinetuneClassifier)
