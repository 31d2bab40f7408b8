"""Plugin ``onnx``: export ``bert`` embedders to ONNX (parity-checked, optionally int8) and run them.

onnxruntime, onnx and torch load only when an export or a session is made.
"""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_onnx.embedder import OnnxEmbedder

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"onnxruntime": "latentstack[onnx]", "onnx": "latentstack[onnx]", "torch": "latentstack[onnx]"}



@hookimpl
def register_embedders(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the ``onnx`` embedder."""
    register(OnnxEmbedder)


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
