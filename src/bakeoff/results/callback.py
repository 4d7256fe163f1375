"""Hydra callback: at the end of every multirun, print the leaderboard and fail if a job failed."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from bakeoff.results.record import RECORD_NAME

log = logging.getLogger("bakeoff")


def failed_jobs(sweep_dir: Path) -> list[tuple[str, str]]:
    out = []
    for path in sorted(sweep_dir.rglob(RECORD_NAME)):
        record = json.loads(path.read_text())
        if record.get("status") != "completed":
            out.append(
                (record.get("name") or str(path.parent), record.get("error") or record["status"])
            )
    return out


class CompareOnMultirunEnd(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from bakeoff.results.compare import compare, print_leaderboard

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            result = compare([sweep_dir])
            print_leaderboard(result)
        except Exception as err:  # the comparison must not hide the sweep's own outcome
            log.error("comparison of %s failed: %s: %s", sweep_dir, type(err).__name__, err)
        failed = failed_jobs(sweep_dir)
        if failed:
            lines = "\n".join(f"  {name}: {error}" for name, error in failed)
            print(f"\n{len(failed)} job(s) failed in {sweep_dir}:\n{lines}", file=sys.stderr)
            # SystemExit passes through Hydra's error reporting: the process exits 1 after all jobs ran.
            raise SystemExit(1)
