"""The benchmark runner: shared options, one-JSON-object output, Markdown and PNG writers."""

from latentstack.bench.report import BenchReport, MethodResult, environment

__all__ = ["BenchReport", "MethodResult", "environment"]
