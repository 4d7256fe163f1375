"""Task functions behind the Hydra entry points: turn user errors into one line, keep sweeps going."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from bakeoff.errors import BakeoffError

log = logging.getLogger("bakeoff")


def _in_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def train_task(cfg: DictConfig) -> float | None:
    """Hydra task for train.py. Returns the best monitored value (what Optuna optimises)."""
    from bakeoff.train import run
    from bakeoff.utils.summary import print_summary

    try:
        record = run(cfg, Path(cfg.paths.output_dir))
    except Exception as err:
        message = f"{type(err).__name__}: {err}" if not isinstance(err, BakeoffError) else str(err)
        if _in_multirun():
            # Record written; the other jobs go on and the sweep exits non-zero at its end.
            log.error("job failed: %s", message)
            return None
        if isinstance(err, BakeoffError):
            raise SystemExit(f"error: {err}") from None
        raise
    print_summary(record)
    return record["monitor"]["best"]
