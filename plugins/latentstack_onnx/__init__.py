"""Plugin ``onnx``: export encoders to ONNX and decoders to ONNX Runtime GenAI, parity-checked, and run them.

The ``onnx`` embedder runs encoder exports (fp32, int8), the ``onnx`` generator decoder
exports (fp32, int8, int4). onnxruntime, onnx and torch load only when an export or a
session is made; running an export needs neither torch nor transformers.
"""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_onnx.embedder import OnnxEmbedder
from latentstack_onnx.generator import GenaiGenerator

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"onnxruntime": "latentstack[onnx]", "onnx": "latentstack[onnx]", "torch": "latentstack[onnx]",
                        "onnxruntime_genai": "latentstack[onnx]", "onnx_ir": "latentstack[onnx]"}



@hookimpl
def register_embedders(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the ``onnx`` embedder."""
    register(OnnxEmbedder)


@hookimpl
def register_generators(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the ``onnx`` generator (ONNX Runtime GenAI)."""
    register(GenaiGenerator)


@hookimpl
def register_commands(cli):  # noqa: ANN001, ANN201 - the hook's callback
    """Add ``latentstack export onnx``."""
    from latentstack_onnx.export_cmd import export

    cli.add_command(export)


@hookimpl
def register_bench_suites(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Add the ``embed`` benchmark suite."""
    from latentstack_onnx.bench_embed import embed

    register(embed)
