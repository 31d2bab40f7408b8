"""Choosing the fastest exact runtime for an embedder on this CPU: bf16 where it keeps parity and runs faster.

``dtype="auto"`` (the default of the torch embedders, ``bert`` and ``llm``, through
:class:`AutoDtype`) runs bfloat16 when the CPU has AMX or AVX-512 BF16 *and* a probe at
first use finds bf16 both exact enough (a mean cosine of at least 0.9999, and a minimum of
0.999, against float32 on the probe texts) and faster (the probe texts embedded in at most
0.9 of float32's time): bf16 units do not make every model faster on every CPU. float32
otherwise. The probe's result is cached per model fingerprint and CPU under
``$LATENTSTACK_HOME/runtime``, so it runs once. On CUDA, auto means float32, as before.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import attrs

from latentstack.cpu import cpu_features, cpu_name

MEAN_FLOOR, MIN_FLOOR = 0.9999, 0.999
FASTER = 0.9  # bf16 must embed the probe texts in at most this share of float32's time
PROBE_VERSION = 2  # part of the cache key: choices made by an earlier probe are made again
TIMED_COPIES = 4  # the probe texts, this many times over, are what each dtype is timed on
TIMED_ROUNDS = 3  # timed passes per dtype at most, taken in turn; the best counts
CLEAR = 0.75  # rounds stop once bf16's best time is this much further from FASTER, either way, than FASTER itself
NO_UNITS = "the CPU has no bf16 units (AMX or AVX-512 BF16)"  # the reason float32 is chosen without a probe
BF16_UNITS = ("amx_bf16", "avx512_bf16")

PROBE_TEXTS = (
    "The cat sat on the mat.",
    "Stock markets fell sharply on Monday after the announcement.",
    "WINNER!! Claim your free prize now by texting WIN to 80086",
    "How do volcanoes erupt?",
    "Ein deutscher Satz mit Umlauten: äöü ß.",
    "Bread dough rises because yeast ferments sugars and releases carbon dioxide.",
    "The quarterly report shows revenue grew while operating costs fell.",
    "ok",
    "Can you send me the minutes of yesterday's meeting before noon?",
    "A long sentence that keeps going, listing apples, pears, plums, cherries, grapes, figs and dates. " * 6,
)


@attrs.frozen
class RuntimeChoice:
    """The dtype chosen for one model on this CPU, and why."""

    dtype: str
    reason: str
    cosine_mean: float | None = None
    cosine_min: float | None = None
    bf16_speedup: float | None = None  # float32's probe seconds over bf16's


@attrs.frozen
class Probe:
    """bf16 against float32 on the probe texts: row cosines, and each dtype's seconds (the best timed pass)."""

    cosine_mean: float
    cosine_min: float
    fp32_s: float
    bf16_s: float


def cpu_key() -> tuple[str, list[str]]:
    """The CPU's name and SIMD features (what decides the choice)."""
    return cpu_name(), cpu_features()


def bf16_units(features: list[str]) -> list[str]:
    """Which bf16 units the CPU has (none: bf16 would be emulated, and slower than float32)."""
    return [f for f in BF16_UNITS if f in features]


def _cache(model_fingerprint: str) -> Path:
    from latentstack.sources.base import latentstack_home

    name, features = cpu_key()
    key = hashlib.sha256(json.dumps([PROBE_VERSION, model_fingerprint, name, features]).encode()).hexdigest()[:24]
    return latentstack_home() / "runtime" / f"{key}.json"


def cached_choice(model_fingerprint: str) -> RuntimeChoice | None:
    """The choice made earlier for this model on this CPU, if any."""
    try:
        return RuntimeChoice(**json.loads(_cache(model_fingerprint).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def choose_dtype(model_fingerprint: str, probe: Callable[[], Probe], features: list[str] | None = None) -> RuntimeChoice:
    """bfloat16 or float32 for this model here; ``probe`` measures bf16 against float32 (called only with bf16 units)."""
    units = bf16_units(cpu_key()[1] if features is None else features)
    if not units:
        return RuntimeChoice("float32", NO_UNITS)
    if features is None and (known := cached_choice(model_fingerprint)) is not None:
        return known
    choice = judge(probe(), units)
    if features is None:
        from latentstack.atomic import write_json

        path = _cache(model_fingerprint)
        os.makedirs(path.parent, exist_ok=True)
        write_json(path, attrs.asdict(choice))
    return choice


def judge(p: Probe, units: list[str]) -> RuntimeChoice:
    """bf16 when the probe found it both within the cosine floors and faster; the reason gives both figures."""
    exact = p.cosine_mean >= MEAN_FLOOR and p.cosine_min >= MIN_FLOOR
    faster = p.bf16_s <= FASTER * p.fp32_s
    speedup = p.fp32_s / max(p.bf16_s, 1e-9)
    reason = (f"{'/'.join(units)} present; probe: cosine mean {p.cosine_mean:.5f}, min {p.cosine_min:.5f} "
              f"({'within' if exact else 'outside'} {MEAN_FLOOR}/{MIN_FLOOR}), bf16 {speedup:.2f}x float32's speed "
              f"({'faster' if faster else 'not faster'})")
    return RuntimeChoice("bfloat16" if exact and faster else "float32", reason, p.cosine_mean, p.cosine_min,
                         round(speedup, 3))


def settled(fp32_s: float, bf16_s: float) -> bool:
    """Whether the probe's timings already answer "is bf16 faster?" with a margin (``CLEAR``): bf16 at most
    FASTER x CLEAR of float32's time, or at least FASTER / CLEAR of it. A decoder's float32 pass takes seconds, so
    a clear answer after one round spares it the other rounds; a close one takes them all."""
    ratio = bf16_s / max(fp32_s, 1e-9)
    return ratio <= FASTER * CLEAR or ratio >= FASTER / CLEAR


def describe_auto(probe_key: str) -> str:
    """What ``dtype="auto"`` runs for the model with this probe key here, without running the probe."""
    units = bf16_units(cpu_key()[1])
    if not units:
        return f"float32 ({NO_UNITS})"
    known = cached_choice(probe_key)
    if known is None:
        return f"not probed yet ({'/'.join(units)} present: the first use as an embedder probes bf16's parity and speed)"
    return f"{known.dtype} ({known.reason})"


def parity(reference: Any, candidate: Any) -> tuple[float, float]:
    """(mean, min) row-wise cosine of two float arrays."""
    import numpy as np

    a, b = np.asarray(reference, dtype=np.float64), np.asarray(candidate, dtype=np.float64)
    cos = (a * b).sum(axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return float(cos.mean()), float(cos.min())


class AutoDtype:
    """Mixin for torch embedders whose ``config.dtype`` may be "auto": the dtype they run in, chosen once.

    Needs ``config.dtype``, ``config.device``, ``config.show_progress``, ``resolved`` (latentstack.hf.LocalModel)
    and ``embed_many``; ``config.adapter``, when the embedder has one, is part of the probe's key.
    """

    name: ClassVar[str]
    config: Any
    resolved: Any

    @cached_property
    def torch_device(self) -> str:
        """The torch device for ``config.device`` (see latentstack.hf.pick_device)."""
        from latentstack.hf import pick_device

        return pick_device(self.config.device)

    @cached_property
    def runtime(self) -> RuntimeChoice:
        """The dtype the model runs in: the one asked for, or for "auto" the one :func:`choose_dtype` picks."""
        from latentstack.progress import detail

        if self.config.dtype != "auto":
            choice = RuntimeChoice(self.config.dtype, "asked for")
        elif self.torch_device != "cpu":
            choice = RuntimeChoice("float32", "auto on a GPU means float32")
        else:
            choice = choose_dtype(self.probe_key(), self._probe)
        detail(f"{self.name}: runs {choice.dtype} on {self.torch_device} ({choice.reason})")
        return choice

    def probe_key(self) -> str:
        """What the probe's cached result is keyed on: the model's files and the adapter merged into it."""
        return f"{self.resolved.fingerprint()}:{getattr(self.config, 'adapter', '') or ''}"

    def _probe(self) -> Probe:
        """bf16 against float32 on the probe texts: the vectors' cosines, and each dtype's best time once warm, the
        two timed in turn so that a slow spell of the machine hits both."""
        import time

        embedder: Any = type(self)
        timed_texts = list(PROBE_TEXTS) * TIMED_COPIES
        pair = [embedder(attrs.evolve(self.config, dtype=d, show_progress=False)) for d in ("float32", "bfloat16")]
        # the first pass loads the model, meets every batch shape the timed passes will, and gives the vectors compared
        runs = [emb.embed_many(timed_texts) for emb in pair]
        seconds: list[list[float]] = [[], []]
        for _ in range(TIMED_ROUNDS):
            for i, emb in enumerate(pair):
                start = time.perf_counter()
                emb.embed_many(timed_texts)
                seconds[i].append(time.perf_counter() - start)
            if settled(min(seconds[0]), min(seconds[1])):
                break
        return Probe(*parity(*runs), min(seconds[0]), min(seconds[1]))

    def runtime_info(self) -> dict[str, str]:
        """The dtype chosen and why (recorded in manifests, shown by ``latentstack doctor``)."""
        return {"dtype": self.runtime.dtype, "reason": self.runtime.reason}
