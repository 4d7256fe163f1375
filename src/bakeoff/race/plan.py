"""The race's arithmetic: budgets per rung, the ranking of configurations, who goes on.

Configurations are ranked by the mean over their seeds of the best monitored val value so far
(`monitor.best` of each job's record, in the monitor's mode); the top `1/eta` are kept, never
fewer than `keep_min`, and they go on to `eta` times the budget, up to the horizon
(`trainer.max_epochs`), where the survivors finish.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from bakeoff.errors import ConfigError


class RaceSettingsError(ConfigError):
    """Settings with which the race cannot run (said before anything trains)."""


def check_settings(eta, min_epochs, keep_min, max_epochs, n_configurations: int) -> None:
    """One clear error for settings the race cannot run with."""
    key = "hydra.sweeper"
    if not isinstance(eta, int) or isinstance(eta, bool) or eta < 2:
        raise RaceSettingsError(
            f"{key}.eta: {eta} keeps every configuration (an integer >= 2: the top 1/eta go on)"
        )
    if not isinstance(max_epochs, int) or max_epochs < 1:
        raise RaceSettingsError(
            f"trainer.max_epochs: {max_epochs} is not a horizon the race can divide "
            "(an integer >= 1, the same for every job)"
        )
    if not isinstance(min_epochs, int) or isinstance(min_epochs, bool) or min_epochs < 1:
        raise RaceSettingsError(f"{key}.min_epochs: {min_epochs} is not a number of epochs (>= 1)")
    if min_epochs >= max_epochs:
        raise RaceSettingsError(
            f"{key}.min_epochs: {min_epochs} is not below trainer.max_epochs={max_epochs}: "
            "the race would stop nothing early (lower min_epochs or raise the horizon)"
        )
    if not isinstance(keep_min, int) or isinstance(keep_min, bool) or keep_min < 1:
        raise RaceSettingsError(
            f"{key}.keep_min: {keep_min} is not a number of configurations (>= 1)"
        )
    if n_configurations < 2:
        raise RaceSettingsError(
            f"the sweep has {n_configurations} configuration(s): a race needs at least 2 "
            "(seeds and folds repeat a configuration; sweep a model, lr or finetune option)"
        )


def budgets(min_epochs: int, eta: int, max_epochs: int) -> list[int]:
    """Epochs each rung trains up to: min_epochs, eta times that, ..., the horizon."""
    out = [min_epochs]
    while out[-1] < max_epochs:
        out.append(min(out[-1] * eta, max_epochs))
    return out


def n_kept(n: int, eta: int, keep_min: int) -> int:
    return min(n, max(keep_min, n // eta))


def score(values: Sequence[float | None], mode: str) -> float:
    """Mean of the seeds' best values; a missing or non-finite one ranks the configuration last."""
    worst = -math.inf if mode == "max" else math.inf
    if not values or any(v is None or not math.isfinite(v) for v in values):
        return worst
    return sum(v for v in values if v is not None) / len(values)


def ranked(scores: Mapping[str, float], mode: str) -> list[str]:
    """Configurations best first (ties: in the sweep's order, which `scores` keeps)."""
    order = list(scores)
    sign = -1 if mode == "max" else 1
    return sorted(order, key=lambda c: (sign * scores[c], order.index(c)))


def kept(scores: Mapping[str, float], mode: str, eta: int, keep_min: int) -> list[str]:
    return ranked(scores, mode)[: n_kept(len(scores), eta, keep_min)]
