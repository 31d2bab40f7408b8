"""A benchmark run's results and the environment they were measured in."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

import attrs

from latentstack.cpu import cpu_features, cpu_name, usable_cores


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


def threads() -> int:
    """Threads torch would use (read without importing torch unless it is loaded already)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return int(torch.get_num_threads())
    return usable_cores()


def environment() -> dict[str, Any]:
    """Versions, CPU and threads, recorded beside every benchmark's figures."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_features": cpu_features(),
        "cores": os.cpu_count(),
        "threads": threads(),
    }
    for dist in ("latentstack", "torch", "transformers", "faiss-cpu", "onnxruntime", "peft", "numpy", "scikit-learn"):
        if v := _version(dist):
            env[dist] = v
    return env


@attrs.define
class MethodResult:
    """One method's figures: quality ``metrics`` and speed/size ``timing``; ``params`` where rows of one method
    differ by a setting (e.g. the number of labels)."""

    method: str
    metrics: dict[str, float] = attrs.field(factory=dict)
    timing: dict[str, float] = attrs.field(factory=dict)
    extra: dict[str, Any] = attrs.field(factory=dict)
    params: dict[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form; ``params`` and ``extra`` only when set."""
        out: dict[str, Any] = {"method": self.method}
        if self.params:
            out["params"] = self.params
        out.update(metrics=self.metrics, timing=self.timing)
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> MethodResult:
        """The row back from its JSON form (``to_dict``'s inverse)."""
        return cls(row["method"], row["metrics"], row["timing"], row.get("extra", {}), row.get("params", {}))


@attrs.define
class BenchReport:
    """A whole suite run: every method on the same data, in one process."""

    suite: str
    data: str
    n: int
    results: list[MethodResult] = attrs.field(factory=list)
    params: dict[str, Any] = attrs.field(factory=dict)
    env: dict[str, Any] = attrs.field(factory=environment)
    chart: Any = None  # optional (report, path) -> None drawing NAME.png; a bar chart otherwise

    def to_dict(self) -> dict[str, Any]:
        """The one JSON object of the output contract."""
        return {
            "suite": self.suite,
            "data": self.data,
            "n": self.n,
            "params": self.params,
            "env": self.env,
            "results": [r.to_dict() for r in self.results],
        }
