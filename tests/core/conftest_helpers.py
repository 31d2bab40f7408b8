"""Small helpers shared by a few core tests."""

from __future__ import annotations

from ..conftest import run_cli


def never_called() -> tuple[float, float]:
    """A probe that must not run."""
    raise AssertionError("the probe ran although the CPU has no bf16 units")


def run_doctor() -> str:
    """`latentstack doctor`'s output."""
    return run_cli("doctor", check=True).stdout
