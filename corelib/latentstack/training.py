"""Training-loop pieces the plugins that train share (seeding, the learning-rate schedule).

torch is imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

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
