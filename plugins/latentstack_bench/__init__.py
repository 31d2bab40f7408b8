"""Plugin ``bench``: the ``latentstack bench`` runner and the retrieval, classify, labels, rag and serve suites.

Other plugins add suites through the ``register_bench_suites`` hook (faiss its ``ann``
suite, onnx ``embed``, llm ``generate`` and ``sft``), exactly as a third party would.
"""

from __future__ import annotations

from typing import Any

from latentstack.hookspecs import hookimpl

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"matplotlib": "latentstack[bench]"}



@hookimpl
def register_commands(cli: Any) -> None:
    """Add the ``latentstack bench`` group."""
    from latentstack_bench.group import bench

    cli.add_command(bench)


@hookimpl
def register_bench_suites(register: Any) -> None:
    """The built-in suites (each module is imported only when the bench group is used)."""
    from latentstack_bench import classify, labels, rag, retrieval, serve

    for command in (retrieval.retrieval, classify.classify, labels.labels, rag.rag, serve.serve):
        register(command)
