"""The W&B side of a comparison: one `comparison` run in the sweep's group.

At the end of a multirun the leaderboard also goes where the team looks: a W&B run with
job_type "comparison", in the same project and group as the sweep's job runs, logs the leaderboard
as a `wandb.Table` and every comparison plot as a `wandb.Image`, then finishes. Its settings
(project, entity, mode, tags) come from what the jobs recorded in their `results.json` config, so
it goes where they went: offline unless a key is set or mode=online. Sweeps whose jobs did not use
the wandb logger get no comparison run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from bakeoff.loggers.wandb import WANDB_TARGETS  # the comparison run copies the jobs' settings
from bakeoff.results.tables import STAR

if TYPE_CHECKING:
    from bakeoff.results.comparison import Comparison

log = logging.getLogger(__name__)

JOB_TYPE = "comparison"
RUN_NAME = "comparison"


def job_wandb_settings(comparison: Comparison) -> dict[str, Any] | None:
    """project/entity/mode/group/tags of the jobs' W&B runs, or None if no job used W&B."""
    from bakeoff.results.collect import find_jobs

    run_dirs = list(comparison.runs["run_dir"])
    for job in find_jobs(run_dirs):
        loggers = (job.record.get("config") or {}).get("logger") or {}
        for logger in loggers.values() if isinstance(loggers, dict) else ():
            if isinstance(logger, dict) and logger.get("_target_") in WANDB_TARGETS:
                return {
                    "project": logger.get("project"),
                    "entity": logger.get("entity"),
                    "mode": logger.get("mode") or "auto",
                    "tags": [str(t) for t in logger.get("tags") or []],
                    "group": job.record.get("group") or logger.get("group"),
                }
    return None


def leaderboard_table(comparison: Comparison) -> Any:
    """The leaderboard as shown in the console and the md file, as a wandb.Table (strings)."""
    import wandb

    frame = comparison.display.rename(columns={"": "selected"}).copy()
    frame["selected"] = [v == STAR for v in frame["selected"]]
    return wandb.Table(dataframe=frame)


def log_comparison(
    comparison: Comparison, sweep_dir: str | Path, settings: dict[str, Any] | None = None
) -> str | None:
    """Log `comparison` as a W&B run of job_type "comparison"; returns its run id (None: skipped).

    `settings` defaults to the jobs' W&B settings (`job_wandb_settings`); the run dir goes under
    `sweep_dir` (sweep_dir/wandb/...), beside the jobs.
    """
    from bakeoff.loggers.wandb import resolve_mode
    from bakeoff.loggers.wandb_console import console_settings

    settings = settings if settings is not None else job_wandb_settings(comparison)
    if settings is None:
        log.info("no job used the wandb logger: no W&B comparison run")
        return None
    mode = resolve_mode(settings.get("mode") or "auto")
    if mode == "disabled":
        return None
    sweep_dir = Path(sweep_dir)
    group = settings.get("group") or sweep_dir.name

    import wandb

    run = wandb.init(
        project=settings.get("project") or "bakeoff",
        entity=settings.get("entity"),
        dir=str(sweep_dir),
        name=RUN_NAME,
        group=group,
        job_type=JOB_TYPE,
        tags=settings.get("tags") or None,
        mode=cast(Literal["online", "offline", "disabled"], mode),
        reinit="finish_previous",
        settings=console_settings(),  # no wandb panel after the leaderboard (WANDB_SILENT asks)
        config={
            "metric": comparison.metric,
            "mode": comparison.mode,
            "sweep_dir": str(sweep_dir),
            "n_jobs": len(comparison.runs),
        },
    )
    try:
        images = {
            f"comparison/{path.stem}": wandb.Image(str(path))
            for path in comparison.files
            if path.suffix == ".png" and path.is_file()
        }
        run.log({"comparison/leaderboard": leaderboard_table(comparison), **images})
        statuses = comparison.runs["status"].value_counts().to_dict()
        run.summary.update(
            {
                "selected": comparison.best,
                "selection_metric": comparison.metric,
                "jobs": {str(k): int(v) for k, v in statuses.items()},
                "summary": "\n".join(comparison.summary),
            }
        )
        return run.id
    finally:
        run.finish()
