"""What the CPU is and may do: its name, the instruction sets that decide fp32/bf16/int8 speed, usable cores."""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

#: The instruction sets that decide how fast fp32, bf16 and int8 run, as /proc/cpuinfo names them.
SIMD_FEATURES = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


@functools.cache
def _proc_cpuinfo() -> str | None:
    """/proc/cpuinfo, read once per process (the CPU does not change under it; the embedding cache asks per call)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return None


def _cpuinfo_field(key: str, cpuinfo: str | None = None) -> str | None:
    """The value of the first ``key : value`` line of ``cpuinfo`` (default: /proc/cpuinfo); None where
    there is none or the file cannot be read."""
    if cpuinfo is None:
        cpuinfo = _proc_cpuinfo()
        if cpuinfo is None:
            return None
    for line in cpuinfo.splitlines():
        if line.startswith(key):
            return line.split(":", 1)[1].strip()
    return None


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo, else platform.processor()."""
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_features(cpuinfo: str | None = None) -> list[str]:
    """Which of SIMD_FEATURES the CPU has (from ``cpuinfo``, else /proc/cpuinfo; empty where unreadable)."""
    flags = set((_cpuinfo_field("flags", cpuinfo) or "").split())
    return [f for f in SIMD_FEATURES if f in flags]


def usable_cores() -> int:
    """CPUs this process may run on (taskset and cgroup cpusets narrow it), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
