"""One fine-tuning run: build its parts, fit, test the best checkpoint; the record is written
around it (`bakeoff.runs.common.recorded`), whatever happens."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from bakeoff.checks.validate import validate_config
from bakeoff.record.schema import Record
from bakeoff.runs.assembly import RunParts, build_data, build_run_parts
from bakeoff.runs.common import (
    build_loggers,
    build_trainer,
    close_loggers,
    describe_data,
    describe_model,
    record_history,
    recorded,
    test_into_record,
)

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict[str, Any]:
    """Fit + test one configuration in `paths.output_dir`. Always writes `results.json`.

    With `resume=true` a job whose record says completed is not run again (its record is
    returned), and one with a `checkpoints/last.ckpt` continues from it. A job that SLURM
    requeued (after a pre-emption signal, see bakeoff.runs.resume) resumes the same way; either
    first checks that the run dir's earlier run trained this config (bakeoff.runs.resume_check).
    The run dir is locked from here to the record (one writer, bakeoff.utils.run_lock).
    """
    from bakeoff.utils.run_lock import locked

    with locked(cfg.paths.output_dir):
        return _run(cfg)


def _run(cfg: DictConfig) -> dict[str, Any]:
    if _resuming(cfg):
        from bakeoff.runs.resume import completed_record, requeued
        from bakeoff.runs.resume_check import check_resume

        if requeued():
            log.info("resume: SLURM requeued this job (restart %d)", requeued())
        requested = _requested_config(cfg)
        if requested is not None:  # the run dir's earlier run trained this config, or stop
            check_resume(Path(cfg.paths.output_dir), requested)
        done = completed_record(Path(cfg.paths.output_dir))
        if done is not None:
            log.info("resume: %s is completed, not run again", cfg.paths.output_dir)
            return done
        from bakeoff.callbacks.budget import paused_within

        paused = completed_record(Path(cfg.paths.output_dir), status="paused")
        if paused is not None and paused_within(paused, cfg):
            log.info("resume: %s has trained its budget.epochs already", cfg.paths.output_dir)
            return paused
    return train(cfg)


@recorded(check=validate_config)  # the config checked first; the record written whatever happens
def train(cfg: DictConfig, record: Record) -> None:
    """The run body: seed, loggers, the run's parts, fit, test the best checkpoint."""
    import lightning as L

    from bakeoff.loggers.wandb import finish_wandb

    L.seed_everything(cfg.seed, workers=True)
    run_dir = record.paths.run_path()
    ckpt_path = _checkpoint_to_resume(cfg, run_dir)
    record.timing.fit_s_earlier = _earlier_fit_s(run_dir, ckpt_path)
    # The data's first read and all its checks come before any logger starts (a missing file
    # makes no W&B run) and before any weights load; then the loggers: a W&B run starts in the
    # background while the model is built.
    datamodule = build_data(cfg)
    datamodule.read()
    loggers = _start_loggers(cfg, run_dir, record, resuming=ckpt_path is not None)
    try:
        parts = build_run_parts(cfg, datamodule=datamodule)
        describe_data(record, parts.datamodule)
        if parts.estimator is not None:  # a scikit-learn baseline: fitted, not trained
            from bakeoff.runs.classical import fit_and_test as fit_and_test_estimator

            fit_and_test_estimator(cfg, parts, record, loggers, ckpt_path)
        else:
            fit_and_test(cfg, parts, record, loggers, ckpt_path)
    finally:
        finish_wandb(loggers)


def _earlier_fit_s(run_dir: Path, ckpt_path: str | None) -> float | None:
    """The fit seconds of the run's earlier launches, from the record it resumes (its own
    last.ckpt): a race's survivor, paused at each rung, then shows its whole fit time."""
    from bakeoff.record.store import read_record
    from bakeoff.runs.resume import resume_checkpoint

    if ckpt_path is None or ckpt_path != resume_checkpoint(run_dir):
        return None
    try:
        timing = read_record(run_dir).get("timing") or {}
    except (OSError, ValueError):
        return None
    return round((timing.get("fit_s") or 0.0) + (timing.get("fit_s_earlier") or 0.0), 3)


def _resuming(cfg: DictConfig) -> bool:
    from bakeoff.runs.resume_check import resuming

    return resuming(cfg)


def _requested_config(cfg: DictConfig) -> dict[str, Any] | None:
    """The config as the record will store it; None while it does not resolve (the run's own
    checks then name what is missing)."""
    from bakeoff.runs.common import resolved

    try:
        return resolved(cfg)
    except Exception:
        return None


def _checkpoint_to_resume(cfg: DictConfig, run_dir: Path) -> str | None:
    """`ckpt_path` as given; else, when resuming, the run's own `last.ckpt` (if any)."""
    from bakeoff.runs.resume import resume_checkpoint

    ckpt_path = cfg.ckpt_path
    if ckpt_path is None and _resuming(cfg):
        ckpt_path = resume_checkpoint(run_dir)
        log.info("resume: %s", f"from {ckpt_path}" if ckpt_path else "no last.ckpt, from scratch")
    return ckpt_path


def _start_loggers(cfg: DictConfig, run_dir: Path, record: Record, resuming: bool) -> list:
    """The configured loggers; one W&B run per job, also across resumes (its id is kept in the
    run dir from the start, so an interrupted record names its run too). A CSV logger appends
    to earlier rows."""
    from bakeoff.runs.resume import wandb_run_id

    wandb_id = wandb_run_id(run_dir, resume=resuming) if _uses_wandb(cfg) else None
    if wandb_id is not None:
        record.run_id = wandb_id[0]
    return build_loggers(cfg, wandb_id=wandb_id)


def _uses_wandb(cfg: DictConfig) -> bool:
    from bakeoff.loggers.wandb import WANDB_TARGETS

    return any(
        c is not None and c.get("_target_") in WANDB_TARGETS and c.get("mode") != "disabled"
        for c in (cfg.get("logger") or {}).values()
    )


def fit_and_test(
    cfg: DictConfig, parts: RunParts, record: Record, loggers: list, ckpt_path: str | None
) -> None:
    """Fit the TaskModule with a Trainer, then test its best checkpoint."""
    from bakeoff.callbacks.budget import TrainingBudget, budget_epochs
    from bakeoff.callbacks.exact_resume import ExactResume
    from bakeoff.callbacks.measure import RunMeter, SpawnedFitState, forward_flops_per_sample
    from bakeoff.models.finetune import FreezeSchedule
    from bakeoff.runs.resume import StopOnSignal, interruption
    from bakeoff.utils.build import build as instantiate

    module, datamodule = parts.module, parts.datamodule
    module.run_config = record.config
    flops = forward_flops_per_sample(module, datamodule.probe_batch())
    describe_model(record, parts.backbone.source, module.param_counts()["total"], None, flops)

    meter = RunMeter(cfg.monitor.metric, cfg.monitor.mode)
    callbacks = [instantiate(c) for c in (cfg.callbacks or {}).values() if c is not None]
    spawned = SpawnedFitState(str(record.paths.run_path() / ".fit_state.json"), meter)
    stopper = StopOnSignal()
    budget = TrainingBudget(budget_epochs(cfg))
    callbacks += [FreezeSchedule(), meter, spawned, stopper, budget, ExactResume()]
    n_train = datamodule.sizes().get("n_train")  # log_every_n_steps from the epoch's size
    trainer = build_trainer(cfg, record.paths.run_path(), loggers, callbacks, n_train=n_train)
    for lg in loggers:
        lg.log_hyperparams(record.config)
    tic = time.perf_counter()
    if cfg.train:
        try:
            trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
        except BaseException as err:
            stopped = interruption(err, stopper)
            if stopped is None:
                raise
            # What was validated so far goes in the record (status "interrupted").
            _record_fit(record, trainer, module, meter, datamodule, tic)
            raise stopped from None
        spawned.restore(module, datamodule)
    _record_fit(record, trainer, module, meter, datamodule, tic)
    _check_validated(record, datamodule)
    record.data.padded_token_fraction = datamodule.padded_fraction()
    if budget.paused:  # tested once the run reaches its end (resume=true), not now
        record.status = "paused"
    elif cfg.test:
        run_dir = record.paths.run_path()
        test_into_record(trainer, module, datamodule, record.paths.best_ckpt, run_dir, record)
    close_loggers(trainer, loggers, record)


def _check_validated(record: Record, datamodule) -> None:
    """Every validation set's outputs at the best epoch are numbers (its loss), or the run fails."""
    from bakeoff.callbacks.nonfinite import check_finite

    for split in datamodule.val_sets:
        check_finite(split, record.metrics.get(split) or {})


def _record_fit(record: Record, trainer, module, meter, datamodule, tic: float) -> None:
    """History, best epoch and checkpoint, timing: after fit, or after an interrupted fit."""
    record.timing.fit_s = round(time.perf_counter() - tic, 3)
    record.epochs_trained = trainer.current_epoch
    record.timing.startup_s = meter.startup_s
    if meter.train_s > 0:  # rank 0's samples; every rank trains an equal shard at once
        rate = meter.train_samples / meter.train_s
        record.timing.train_samples_per_s = rate * trainer.world_size
    record.model.params_trainable = module.param_counts()["trainable"]
    record.finetune.trainable_history = module.trainable_history
    record.finetune.compiled_at_epoch = module.compiled_at_epoch
    # every validation set at the monitored best epoch
    record_history(record, meter.history, meter.best_epoch, meter.best, datamodule.val_sets)
    ckpt = trainer.checkpoint_callback
    best_path = ckpt.best_model_path if ckpt is not None and ckpt.best_model_path else None
    record.paths.best_ckpt = best_path
