"""W&B loggers that work without an account: offline unless a key is set or mode=online."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Sequence

log = logging.getLogger(__name__)

MODES = ("auto", "online", "offline", "disabled")
# Logger targets that make a W&B run (bakeoff's own and Lightning's, by the names configs use).
WANDB_TARGETS = (
    "bakeoff.loggers.wandb.make_wandb_logger",
    "lightning.pytorch.loggers.WandbLogger",
    "lightning.pytorch.loggers.wandb.WandbLogger",
    "pytorch_lightning.loggers.WandbLogger",
)


def resolve_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"logger.wandb.mode must be one of {', '.join(MODES)}, got '{mode}'")
    if mode == "auto":
        return "online" if os.environ.get("WANDB_API_KEY") else "offline"
    if mode == "online" and not has_api_key():
        # wandb would fail (or, on a terminal, wait at a login prompt): one warning, and the
        # job (a whole sweep) runs on offline; `wandb sync` uploads the runs later.
        log.warning(
            "logger.wandb.mode=online but no W&B API key (WANDB_API_KEY or `wandb login`): "
            "logging offline instead; `wandb sync <run dir>/wandb/offline-run-*` uploads it later"
        )
        return "offline"
    return mode


def has_api_key() -> bool:
    """A W&B key in the environment or in ~/.netrc (where `wandb login` puts it)."""
    import netrc
    from urllib.parse import urlparse

    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc().authenticators(host or "api.wandb.ai") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def run_identity() -> tuple[str, str | None, list[str]]:
    """Run name (the job's overrides), group (the sweep dir) and overrides, from Hydra."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from bakeoff.utils.overrides import override_key, task_overrides

    if not HydraConfig.initialized():
        return "default", None, []
    hc = HydraConfig.get()
    overrides = task_overrides()
    # `resume=true` continues a run: it is not part of its name (a resumed W&B run keeps its own).
    # Nor is a training budget (budget.epochs, a race's rungs): the run is the same.
    name = ",".join(o for o in overrides if override_key(o) not in ("resume", "budget.epochs"))
    name = name or "default"
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
    id: str | None = None,  # noqa: A002  (wandb.init's name for it)
    resume: str | None = None,
):
    """`id` + `resume="allow"`: continue the run of an interrupted job (see bakeoff.runs.resume)."""
    auto_name, auto_group, _ = run_identity()
    os.makedirs(save_dir, exist_ok=True)
    from bakeoff.loggers.wandb_logger import BackgroundWandbLogger

    return BackgroundWandbLogger(
        project=project,
        entity=entity,
        save_dir=save_dir,
        name=name or auto_name,
        group=group or auto_group or name or auto_name,
        tags=list(tags),
        job_type=job_type,
        mode=resolve_mode(mode),
        log_model=False,
        **({"id": id} if id else {}),
        **({"resume": resume} if resume else {}),
    )


def finish_wandb(loggers) -> None:
    """End this job's W&B run: several runs in one process merge unless each is finished.

    Called from a `finally:` block; when an exception is on its way out, the run is finished
    with exit code 1 so that W&B marks it failed rather than finished.
    """

    from lightning.pytorch.loggers import WandbLogger

    failing = sys.exc_info()[1] is not None
    wandb_loggers = [lg for lg in loggers if isinstance(lg, WandbLogger)]
    if wandb_loggers:
        import wandb

        for lg in wandb_loggers:  # a run still starting would otherwise outlive finish()
            # An init error was raised where the run was first needed, or the job is failing
            # already and its own error is the one to see.
            with contextlib.suppress(Exception):
                getattr(lg, "started", lambda: None)()
        wandb.finish(exit_code=1 if failing else None)
