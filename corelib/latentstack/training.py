"""Training-loop pieces the plugins that train share (seeding, the learning-rate schedule, stopping on SIGTERM).

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


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """While training, SIGTERM (``kill``, a scheduler taking the machine back) stops the run as Ctrl-C does, so the
    work so far is kept the same way; outside the main thread nothing changes."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
