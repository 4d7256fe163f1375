"""Hydra callback: at the end of every multirun, the comparison, and a non-zero exit on failure.

`on_multirun_end` runs after the last job returned (jobs that raised were recorded and returned
None, see `bakeoff.app.entry.train_task`):

1. `compare([sweep_dir])`: tables and plots in `<sweep_dir>/comparison/`, leaderboard printed;
2. when the jobs logged to W&B, a `comparison` run in their group (`wandb_report.log_comparison`);
3. if any job did not complete, the failed jobs are listed on stderr and the process exits 1.

Neither the comparison nor W&B may hide the sweep's own outcome: their errors are logged, and
the exit status still says whether every job completed.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from bakeoff.record.store import RECORD_NAME

log = logging.getLogger("bakeoff")


def failed_jobs(sweep_dir: str | Path) -> list[tuple[str, str, str]]:
    """(job dir relative to the sweep dir, job name, error) of every job that did not complete
    (nor pause at its budget).

    A job dir is one with results.json or Hydra's .hydra/overrides.yaml: a job killed before it
    wrote its record counts as failed too.
    """
    sweep_dir = Path(sweep_dir)
    job_dirs = {p.parent for p in sweep_dir.rglob(RECORD_NAME)}
    job_dirs |= {p.parent.parent for p in sweep_dir.rglob(".hydra/overrides.yaml")}
    out = []
    for job_dir in sorted(job_dirs, key=_job_order):
        rel = str(job_dir.relative_to(sweep_dir))
        path = job_dir / RECORD_NAME
        if not path.is_file():
            out.append((rel, _hydra_name(job_dir), f"no {RECORD_NAME} (the job did not finish)"))
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            out.append((rel, _hydra_name(job_dir), f"unreadable {RECORD_NAME}: {err}"))
            continue
        # paused: stopped at its training budget on purpose (a race's eliminated configuration)
        if record.get("status") not in ("completed", "paused"):
            error = record.get("error") or record.get("status") or "unknown status"
            out.append((rel, record.get("name") or _hydra_name(job_dir), str(error)))
    return out


def _job_order(path: Path) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.parts)


def _hydra_name(job_dir: Path) -> str:
    import yaml

    try:
        overrides = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return job_dir.name
    return ",".join(str(o) for o in overrides or []) or job_dir.name


def _console():
    """rich's console; wide when stdout is a log file, not a terminal (80 columns would wrap
    every config name of the leaderboard). COLUMNS still wins."""
    import os

    from rich.console import Console

    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(width=160 if wide else None)


def failure_report(sweep_dir: str | Path, failed: list[tuple[str, str, str]]) -> str:
    lines = [f"{len(failed)} job(s) failed in {sweep_dir}:"]
    for rel, name, error in failed:
        first = error.strip().splitlines()[0] if error.strip() else error
        lines.append(f"  job {rel} [{name}]: {first}")
    return "\n".join(lines)


class CompareOnMultirunEnd(Callback):
    """Registered in conf/hydra/default.yaml.

    Args:
        wandb: log the comparison to W&B when the jobs used the wandb logger.
        plots: write the comparison PNGs.
        fail_on_error: exit 1 at the end when a job did not complete.
    """

    def __init__(self, wandb: bool = True, plots: bool = True, fail_on_error: bool = True) -> None:
        self.wandb, self.plots, self.fail_on_error = wandb, plots, fail_on_error

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # hydra/launcher=slurm on a cluster without accounting: submitit's sacct polls would
        # log one warning each while the launcher waits for the jobs (bakeoff.utils.slurm).
        if str(config.hydra.launcher.get("_target_", "")).endswith(".SlurmLauncher"):
            from bakeoff.utils.slurm import quiet_sacct_warnings

            quiet_sacct_warnings()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if config.get("dry_run"):  # the jobs trained and recorded nothing: nothing to compare
            return
        sweep_dir = Path(config.hydra.sweep.dir)
        comparison = self.compare(sweep_dir)
        if comparison is not None and self.wandb:
            try:
                from bakeoff.results.wandb_report import log_comparison

                log_comparison(comparison, sweep_dir)
            except Exception as err:  # W&B trouble must not hide the sweep's outcome
                log.error("W&B comparison run failed: %s: %s", type(err).__name__, err)
        failed = failed_jobs(sweep_dir)
        if failed and self.fail_on_error:
            sys.stdout.flush()
            print("\n" + failure_report(sweep_dir, failed), file=sys.stderr, flush=True)
            # SystemExit passes through Hydra's error reporting: exit 1 after every job ran.
            raise SystemExit(1)

    def compare(self, sweep_dir: Path):
        from bakeoff.results.comparison import NoRunsFoundError, compare
        from bakeoff.results.tables import print_leaderboard

        try:
            comparison = compare([sweep_dir], plots=self.plots)
        except NoRunsFoundError as err:
            log.warning("no comparison: %s", err)
            return None
        except Exception as err:  # the comparison must not hide the sweep's own outcome
            log.error("comparison of %s failed: %s: %s", sweep_dir, type(err).__name__, err)
            return None
        print_leaderboard(comparison, console=_console())
        print(f"comparison written to {sweep_dir / 'comparison'}", flush=True)
        return comparison
