"""Plugin ``bench``: the ``latentstack bench`` runner and the built-in retrieval, ann, classify, rag and
generate suites.

Other plugins add suites through the ``register_bench_suites`` hook (the onnx plugin its
``embed`` suite, the llm plugin its ``sft`` suite), exactly as a third party would.
"""

from __future__ import annotations

from typing import Any

from latentstack.hookspecs import hookimpl


@hookimpl
def register_commands(cli: Any) -> None:
    """Add the ``latentstack bench`` group."""
    from latentstack_bench.group import bench

    cli.add_command(bench)


@hookimpl
def register_bench_suites(register: Any) -> None:
    """The built-in suites (each module is imported only when the bench group is used)."""
    from latentstack_bench import ann, classify, generate, rag, retrieval

    for command in (retrieval.retrieval, ann.ann, classify.classify, rag.rag, generate.generate):
        register(command)
