"""Hydra command-line overrides read as keys: what a job set, whatever the prefix (`+`, `~`)."""

from __future__ import annotations


def override_key(item: str) -> str:
    """`+trainer.max_steps=5` -> `trainer.max_steps`: the config key an override sets."""
    return item.split("=", 1)[0].lstrip("+~")


# Overrides that repeat a configuration (another seed or fold of it) rather than define one.
REPEAT_KEYS = {"seed", "fold", "data.fold"}
# Overrides that say where and how a job runs, not what it is: `resume=true` added to the command
# that finishes an interrupted sweep must not split its jobs into two configurations, nor a
# halving race's `budget.epochs` (bakeoff.race) a paused configuration from its finished seeds.
RUN_CONTROL_KEYS = {"resume", "name", "budget.epochs"}


def configuration(overrides) -> tuple[str, ...]:
    """The overrides that define a configuration: seed/fold repeats, run control and hydra.*
    settings dropped (the leaderboard's grouping, and a halving race's)."""
    keep = []
    for item in overrides:
        key = override_key(item)
        if key not in REPEAT_KEYS | RUN_CONTROL_KEYS and not key.startswith("hydra."):
            keep.append(item)
    return tuple(keep)


def task_overrides() -> list[str]:
    """This job's overrides (the command line's, or the sweep's for this job); [] outside a
    Hydra run."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    return list(HydraConfig.get().overrides.task)


def overridden(key: str) -> bool:
    """Whether this job's overrides set `key`; False outside a Hydra run."""
    return any(override_key(o) == key for o in task_overrides())
