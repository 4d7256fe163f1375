"""Learning-rate schedules as multipliers of each param group's base LR (one LambdaLR for all groups)."""

from __future__ import annotations

import math
from collections.abc import Callable

SCHEDULES = ("constant", "linear_warmup", "cosine")


def lr_lambda(
    name: str, total_steps: int, warmup_ratio: float, min_lr_ratio: float
) -> Callable[[int], float]:
    if name not in SCHEDULES:
        raise ValueError(f"scheduler.name must be one of {', '.join(SCHEDULES)}; got '{name}'")
    warmup = int(round(total_steps * warmup_ratio))

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        if name == "constant":
            return 1.0
        if name == "linear_warmup":
            return min_lr_ratio + (1.0 - min_lr_ratio) * (1.0 - progress)
        return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor
