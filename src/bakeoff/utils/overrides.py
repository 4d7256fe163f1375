"""Hydra command-line overrides read as keys: what a job set, whatever the prefix (`+`, `~`)."""

from __future__ import annotations


def override_key(item: str) -> str:
    """`+trainer.max_steps=5` -> `trainer.max_steps`: the config key an override sets."""
    return item.split("=", 1)[0].lstrip("+~")


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
