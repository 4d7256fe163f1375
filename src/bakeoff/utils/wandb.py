"""W&B loggers that work without an account: offline unless a key is set or mode=online."""

from __future__ import annotations

import os
from collections.abc import Sequence

MODES = ("auto", "online", "offline", "disabled")


def resolve_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"logger.wandb.mode must be one of {', '.join(MODES)}, got '{mode}'")
    if mode != "auto":
        return mode
    return "online" if os.environ.get("WANDB_API_KEY") else "offline"


def run_identity() -> tuple[str, str | None, list[str]]:
    """Run name (the job's overrides), group (the sweep dir) and overrides, from Hydra."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return "default", None, []
    hc = HydraConfig.get()
    overrides = list(hc.overrides.task)
    name = ",".join(overrides) or "default"
    group = (
        os.path.basename(os.path.normpath(hc.sweep.dir)) if hc.mode == RunMode.MULTIRUN else None
    )
    return name, group, overrides


def make_wandb_logger(
    project: str,
    save_dir: str,
    mode: str = "auto",
    name: str | None = None,
    group: str | None = None,
    tags: Sequence[str] = (),
    job_type: str = "train",
    entity: str | None = None,
):
    from lightning.pytorch.loggers import WandbLogger

    auto_name, auto_group, _ = run_identity()
    os.makedirs(save_dir, exist_ok=True)
    return WandbLogger(
        project=project,
        entity=entity,
        save_dir=save_dir,
        name=name or auto_name,
        group=group or auto_group or name or auto_name,
        tags=list(tags),
        job_type=job_type,
        mode=resolve_mode(mode),
        log_model=False,
    )


def finish_wandb(loggers) -> None:
    """End this job's W&B run: several runs in one process merge unless each is finished.

    Called from a `finally:` block; when an exception is on its way out, the run is finished
    with exit code 1 so that W&B marks it failed rather than finished.
    """
    import sys

    from lightning.pytorch.loggers import WandbLogger

    if any(isinstance(lg, WandbLogger) for lg in loggers):
        import wandb

        failing = sys.exc_info()[1] is not None
        wandb.finish(exit_code=1 if failing else None)
