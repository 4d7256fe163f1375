"""What a job prints about its W&B run: wandb's own console output off, one line of bakeoff's."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("bakeoff.loggers.wandb")  # the name these lines always had


def console_settings() -> dict[str, bool]:
    """wandb's own console output off (its 3 lines per run, the history and summary panels at
    the end); bakeoff prints one line per run instead (`announce`). WANDB_SILENT=false or
    WANDB_QUIET=false in the environment asks for wandb's own output instead."""
    asked = [os.environ.get(k, "").strip().lower() for k in ("WANDB_SILENT", "WANDB_QUIET")]
    if any(v in ("false", "0", "no") for v in asked):
        return {}
    return {"quiet": True, "silent": True}


def announce(run) -> None:
    """The one line a job prints about its W&B run: where it went (a URL, or the offline dir)."""
    url = getattr(run, "url", None) if not getattr(run.settings, "_offline", False) else None
    where = url or f"offline, {Path(run.dir).parent}"
    # through logging, not print: a progress bar's live display swallows a thread's stderr
    log.info("wandb: run %r (%s)", run.name, where)
