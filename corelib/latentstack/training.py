"""Training-loop pieces the plugins that train share (seeding, the learning-rate schedule, stopping on SIGTERM
between optimiser steps).

torch is imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch so a run can be repeated."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def warmup_then_decay(opt: Any, steps: int, warmup: float) -> Any:
    """A learning-rate schedule rising linearly over ``warmup`` of ``steps``, then falling linearly to 0."""
    import torch

    warm = max(1, int(warmup * steps))
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))


class _Held:
    """Whether a step is under way (``whole_step``) and whether a stop came during it."""

    stepping = False
    pending = False


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """While training, SIGTERM (``kill``, a scheduler taking the machine back) stops the run as Ctrl-C does, so the
    work so far is kept the same way; either one arriving inside ``whole_step`` waits for its end (a second one
    does not). Outside the main thread nothing changes."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        if _Held.stepping and not _Held.pending:
            _Held.pending = True
            return
        raise KeyboardInterrupt

    old = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        _Held.stepping = _Held.pending = False


@contextlib.contextmanager
def whole_step() -> Iterator[None]:
    """An optimiser step and the update of the position a checkpoint records, done as one: a stop (Ctrl-C, SIGTERM,
    under ``stop_on_sigterm``) arriving between them would keep weights one step ahead of their position, and the
    run going on from them would take that step twice. Such a stop is raised once the block has ended."""
    import threading

    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    _Held.stepping, _Held.pending = True, False
    try:
        yield
    finally:
        _Held.stepping = False
    if _Held.pending:
        _Held.pending = False
        raise KeyboardInterrupt
