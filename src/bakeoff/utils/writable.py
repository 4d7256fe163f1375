"""An output dir that cannot be written fails at once, naming the path, before anything loads.

Hydra makes the run (or sweep) dir itself, before bakeoff's task runs: a `paths.log_dir` under a
file, on a read-only file system, or in a folder without write permission would end in Hydra's
traceback of `mkdir`, or for a sweep only after its first job. `CheckOutputDir` (a Hydra
callback, conf/hydra/default.yaml) checks where the dir would go as the run or sweep starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


def unwritable_reason(directory: str | Path) -> str | None:
    """Why `directory` cannot be made or written to, else None. Nothing is created: the nearest
    existing folder above it must be a writable folder."""
    path = Path(directory).expanduser().absolute()
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"no permission to write in {existing}"
    return None


class CheckOutputDir(Callback):
    """Before a run or a sweep starts: its output dir can be made and written, or exit 1 with
    one line naming it (no traceback: the user gave a path, the message is the whole story)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config.hydra.run.dir)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config.hydra.sweep.dir)

    @staticmethod
    def _check(directory: str) -> None:
        reason = unwritable_reason(directory)
        if reason is not None:
            raise SystemExit(
                f"error: paths.log_dir: cannot write the output dir {directory}: {reason} "
                "(choose a writable paths.log_dir=..., or hydra.run.dir / hydra.sweep.dir)"
            )
