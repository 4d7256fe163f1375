"""A resumed job must train what it trained before: `resume=true` (or a SLURM requeue) compares
the requested config with the one of the run it continues, before anything is written.

The earlier config is the run's: its `results.json` config (written by every run, completed,
failed or interrupted), else the one stored in `checkpoints/last.ckpt`. Keys that do not change
what trains are left out of the comparison (`NOT_TRAINING`): loggers, paths, `resume`, `name`,
budgets (`budget.*`, `trainer.max_time`), progress and summary output, the cache folder, and the
horizon (`trainer.max_epochs`) where a budget is set (a budget stops a run early without
re-planning its schedule). Any other difference is one `ResumeMismatch` naming the keys,
old -> new, and the way out (a new `name=`, or no `resume`); the run dir stays as it was.

Where it is checked:
- a single run: `CheckResume.on_run_start` (a Hydra callback), before Hydra writes the run's
  `.hydra/` files, so they keep describing what ran;
- a sweep: `CheckResume.on_multirun_start`, for every job of the sweep (basic sweeper) whose dir
  has a record or a checkpoint, before any job is launched: nothing trains;
- every job again in `bakeoff.train.run` (a SLURM requeue, another sweeper, the Python API).
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from bakeoff.errors import ConfigError

log = logging.getLogger(__name__)

# Dotted prefixes that do not change what trains.
NOT_TRAINING = (
    "logger",
    "paths",
    "resume",
    "name",
    "budget",
    "tags",
    "dry_run",
    "task_name",
    "ckpt_path",
    "test",
    "hydra",
    "trainer.max_time",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "trainer.log_every_n_steps",
    "callbacks.progress_bar",
    "callbacks.lr_monitor",
    "callbacks.model_checkpoint.dirpath",
    "data.cache_dir",
)
# The schedule's horizon: left out only where a budget stops the run (bakeoff's budget.*).
HORIZON = ("trainer.max_epochs",)
SHOWN = 6  # differing keys named in the message


class ResumeMismatch(ConfigError):
    """resume=true with a config that differs from the run's in what trains."""


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _ignored(key: str, skipped: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in skipped)


def config_diff(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, old, new) of every key that changes training, sorted by key."""
    budgeted = any(v is not None for cfg in (old, new) for v in flatten(cfg.get("budget")).values())
    skipped = NOT_TRAINING + (HORIZON if budgeted else ())
    a, b = flatten(old), flatten(new)
    missing = object()
    out = []
    for key in sorted(set(a) | set(b)):
        if _ignored(key, skipped):
            continue
        va, vb = a.get(key, missing), b.get(key, missing)
        if va != vb:
            out.append((key, None if va is missing else va, None if vb is missing else vb))
    return out


def earlier_config(run_dir: Path) -> tuple[dict[str, Any], str] | None:
    """(config, where it was read) of the run in `run_dir`, or None when it never ran."""
    from bakeoff.record.store import RECORD_NAME, read_record
    from bakeoff.runs.resume import LAST_CKPT

    record_path = run_dir / RECORD_NAME
    if record_path.is_file():
        try:
            config = read_record(run_dir).get("config")
        except ValueError:
            config = None
        if isinstance(config, dict) and config:
            return config, str(record_path)
    ckpt = run_dir / LAST_CKPT
    if ckpt.is_file():
        import torch

        try:
            stored = torch.load(ckpt, map_location="cpu", weights_only=True, mmap=True)
        except Exception:  # an unreadable last.ckpt: the resume itself reports it
            return None
        config = stored.get("bakeoff_config") if isinstance(stored, dict) else None
        if isinstance(config, dict):
            return config, str(ckpt)
    return None


def _show(value: Any) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def mismatch_message(run_dir: Path, source: str, diff: list[tuple[str, Any, Any]]) -> str:
    shown = ", ".join(f"{k}: {_show(a)} -> {_show(b)}" for k, a, b in diff[:SHOWN])
    more = f" (and {len(diff) - SHOWN} more)" if len(diff) > SHOWN else ""
    return (
        f"resume: {run_dir} trained another config ({source}): {shown}{more}. Nothing was "
        "changed there; to train this config, give it a new name=..., or drop resume=true "
        "(a new run dir)"
    )


def check_resume(run_dir: Path, requested: dict[str, Any]) -> None:
    """Raises ResumeMismatch when `run_dir` holds a run of another training config."""
    earlier = earlier_config(Path(run_dir))
    if earlier is None:
        return
    config, source = earlier
    diff = config_diff(config, requested)
    if diff:
        raise ResumeMismatch(mismatch_message(Path(run_dir), source, diff))


def resuming(cfg: DictConfig) -> bool:
    """resume=true, or a job that SLURM requeued (bakeoff.resume.requeued, without its imports)."""
    import os

    count = os.environ.get("SLURM_RESTART_COUNT", "0")
    return bool(cfg.get("resume")) or (count.isdigit() and int(count) > 0)


def _job_config(config: DictConfig, output_dir: str) -> dict[str, Any] | None:
    """A Hydra job config (hydra node included) resolved as the job will resolve it."""
    from hydra.core.hydra_config import HydraConfig

    job = copy.deepcopy(config)
    with read_write(job.hydra), open_dict(job.hydra):
        job.hydra.runtime.output_dir = str(Path(output_dir).absolute())
    instance = HydraConfig.instance()
    before = instance.cfg
    try:
        instance.set_config(job)  # what ${hydra:runtime.output_dir} reads
        task = copy.deepcopy(job)
        with read_write(task), open_dict(task):
            del task["hydra"]
        resolved = OmegaConf.to_container(task, resolve=True)
        return resolved if isinstance(resolved, dict) else None  # type: ignore[return-value]
    except Exception as err:  # the run's own checks report a config that does not resolve
        log.debug("resume check skipped: %s", err)
        return None
    finally:
        if before is not None:
            instance.cfg = before


def _sweep_jobs(config: DictConfig) -> list[list[str]] | None:
    """The override lists of a basic sweeper's jobs, in job-number order (None: other sweeper)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    target = str(config.hydra.sweeper.get("_target_", ""))
    if not target.endswith("BasicSweeper"):
        return None
    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += list(config.hydra.overrides.task)
    parsed = OverridesParser.create().parse_overrides(arguments)
    batches = BasicSweeper.split_arguments(parsed, None)
    return [list(job) for batch in batches for job in batch]


class CheckResume(Callback):
    """Registered in conf/hydra/default.yaml (module doc)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not resuming(config) or config.get("dry_run"):
            return
        run_dir = Path(config.hydra.run.dir)
        requested = _job_config(config, str(run_dir))
        if requested is not None:
            _exit_on_mismatch(run_dir, requested)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not resuming(config) or config.get("dry_run"):
            return
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        jobs = _sweep_jobs(config)
        if jobs is None:
            return  # another sweeper: each job is checked as it starts (bakeoff.train.run)
        from hydra.core.global_hydra import GlobalHydra

        loader = GlobalHydra.instance().config_loader()
        for num, overrides in enumerate(jobs):
            job = loader.load_sweep_config(config, overrides)
            with read_write(job.hydra), open_dict(job.hydra):
                job.hydra.job.num = num
                job.hydra.job.id = f"job_id_for_{num}"
            job_dir = sweep_dir / str(job.hydra.sweep.subdir)
            if not job_dir.is_dir():
                continue
            requested = _job_config(job, str(job_dir))
            if requested is not None:
                _exit_on_mismatch(job_dir, requested, job=f"job {num} [{','.join(overrides)}]")


def _exit_on_mismatch(run_dir: Path, requested: dict[str, Any], job: str | None = None) -> None:
    try:
        check_resume(run_dir, requested)
    except ResumeMismatch as err:
        prefix = f"{job}: " if job else ""
        raise SystemExit(f"error: {prefix}{err}") from None
