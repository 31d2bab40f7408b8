"""Plugin ``bert``: BERT-family encoders as Embedders (CLS or masked-mean pooling).

Importing this module is cheap: torch and transformers load when a model is first used.
"""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_bert.embedder import BertEmbedder

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"transformers": "latentstack[bert]", "torch": "latentstack[bert]"}



@hookimpl
def register_embedders(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the ``bert`` embedder."""
    register(BertEmbedder)


@hookimpl
def register_commands(cli):  # noqa: ANN001, ANN201 - the hook's callback
    """Add ``latentstack adapt embedder`` (fine-tuning on text pairs)."""
    from latentstack_bert.tune_cmd import embedder

    cli.shared_group("adapt").add_command(embedder)
