"""Small helpers around transformers, imported lazily by the plugins that need them."""

from __future__ import annotations


def quiet_transformers() -> None:
    """Hide transformers' weight-loading bars and warnings; latentstack shows its own progress."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


def load_tokenizer(path: object) -> object:
    """The tokenizer of a local model folder, loaded quietly (never with remote code)."""
    from transformers import AutoTokenizer

    quiet_transformers()
    return AutoTokenizer.from_pretrained(path)
