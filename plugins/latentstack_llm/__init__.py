"""Plugin ``llm``: a decoder language model as a Generator and as an Embedder.

Default model: SmolLM2-135M-Instruct, converted once from its packaged GGUF into a
safetensors folder in ``$LATENTSTACK_HOME``. Also adds ``latentstack adapt`` (LoRA
post-training of the generator). torch and transformers load on first use only.
"""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_llm.embedder import LlmEmbedder
from latentstack_llm.generator import LlmGenerator

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"transformers": "latentstack[llm]", "torch": "latentstack[llm]", "gguf": "latentstack[llm]"}



@hookimpl
def register_generators(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the ``llm`` generator."""
    register(LlmGenerator)


@hookimpl
def register_embedders(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the ``llm`` embedder (pooled decoder hidden states)."""
    register(LlmEmbedder)


@hookimpl
def register_commands(cli):  # noqa: ANN001, ANN201 - the hook's callback
    """Add the generator's commands to ``latentstack adapt`` (sft, pairs, reward, dpo, squad-data, merge)."""
    from latentstack_llm.adapt_cmd import adapt

    group = cli.shared_group("adapt")
    for command in adapt.commands.values():
        group.add_command(command)


@hookimpl
def register_bench_suites(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Add the ``generate`` and ``sft`` benchmark suites."""
    from latentstack_llm.bench_generate import generate
    from latentstack_llm.bench_sft import sft

    register(generate)
    register(sft)
