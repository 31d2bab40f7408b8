"""The benchmark kit: reports, their writers (JSON, Markdown, PNG) and the options every suite shares.

The runner (the ``latentstack bench`` group) and the built-in suites are plugins; this kit
is what a plugin's own suite imports.
"""

from latentstack.bench.options import bench_options, emit, split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult, environment

__all__ = ["BenchReport", "MethodResult", "bench_options", "emit", "environment", "split_methods", "suite"]
