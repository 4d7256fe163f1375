"""One fine-tuning run: instantiate from config, fit, test the best checkpoint, write the record."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from bakeoff.results.schema import Record
from bakeoff.run import (
    build_data,
    build_loggers,
    build_trainer,
    close_loggers,
    describe_data,
    recorded,
    stage_metrics,
    test_into_record,
)

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict[str, Any]:
    """Fit + test one configuration in `paths.output_dir`. Always writes `results.json`.

    With `resume=true` a job whose record says completed is not run again (its record is
    returned), and one with a `checkpoints/last.ckpt` continues from it. A job that SLURM
    requeued (after a pre-emption signal, see bakeoff.resume) resumes the same way.
    """
    from bakeoff.utils.run_lock import locked

    with locked(cfg.paths.output_dir):  # one writer per run dir, from here to the record
        return _run(cfg)


def _run(cfg: DictConfig) -> dict[str, Any]:
    if _resuming(cfg):
        from bakeoff.resume import completed_record, requeued
        from bakeoff.resume_check import check_resume

        if requeued():
            log.info("resume: SLURM requeued this job (restart %d)", requeued())
        requested = _requested_config(cfg)
        if requested is not None:  # the run dir's earlier run trained this config, or stop
            check_resume(Path(cfg.paths.output_dir), requested)
        done = completed_record(Path(cfg.paths.output_dir))
        if done is not None:
            log.info("resume: %s is completed, not run again", cfg.paths.output_dir)
            return done
    from bakeoff.validate import validate_config

    return recorded(cfg, _fit_and_test, check=validate_config)  # the config checked first


def _resuming(cfg: DictConfig) -> bool:
    from bakeoff.resume_check import resuming

    return resuming(cfg)


def _requested_config(cfg: DictConfig) -> dict[str, Any] | None:
    """The config as the record will store it; None while it does not resolve (the run's own
    checks then name what is missing)."""
    from bakeoff.run import resolved

    try:
        return resolved(cfg)
    except Exception:
        return None


def _fit_and_test(cfg: DictConfig, run_dir: Path, record: Record) -> None:
    import lightning as L

    from bakeoff.resume import resume_checkpoint, wandb_run_id
    from bakeoff.utils.wandb import finish_wandb

    L.seed_everything(cfg.seed, workers=True)
    ckpt_path = cfg.ckpt_path
    if ckpt_path is None and _resuming(cfg):
        ckpt_path = resume_checkpoint(run_dir)
        log.info("resume: %s", f"from {ckpt_path}" if ckpt_path else "no last.ckpt, from scratch")
    resuming = ckpt_path is not None
    # One W&B run per job, also across resumes: its id is kept in the run dir from the start.
    wandb_id = wandb_run_id(run_dir, resume=resuming) if _uses_wandb(cfg) else None
    if wandb_id is not None:  # known from the start: an interrupted record names its run too
        record.run_id = wandb_id[0]
    # Loggers first: a W&B run starts in the background while the data and model are built.
    loggers = build_loggers(cfg, wandb_id=wandb_id)  # a CSV logger appends to earlier rows
    # A classical baseline (model.estimator: TF-IDF + LR, majority) is fitted by scikit-learn
    # instead of a Trainer, into the same record, predictions file and loggers.
    if cfg.model.get("estimator") is not None:
        from bakeoff.models.classical import fit_and_test as build_fit_test
    else:
        build_fit_test = _build_fit_test
    try:
        build_fit_test(cfg, run_dir, record, loggers, ckpt_path)
    finally:
        finish_wandb(loggers)


def _uses_wandb(cfg: DictConfig) -> bool:
    from bakeoff.utils.wandb import WANDB_TARGETS

    return any(
        c is not None and c.get("_target_") in WANDB_TARGETS and c.get("mode") != "disabled"
        for c in (cfg.get("logger") or {}).values()
    )


def _build_fit_test(
    cfg: DictConfig, run_dir: Path, record: Record, loggers: list, ckpt_path: str | None
) -> None:
    from bakeoff.models.finetune import FreezeSchedule
    from bakeoff.models.module import TaskModule
    from bakeoff.resume import StopOnSignal, interruption
    from bakeoff.utils.build import build as instantiate
    from bakeoff.utils.measure import RunMeter, SpawnedFitState, forward_flops_per_sample

    datamodule = build_data(cfg, None)
    datamodule.read()  # the data's first read and all its checks, before any weights load
    backbone = instantiate(cfg.model.backbone)
    datamodule.preprocessing = backbone.preprocessing()
    datamodule.setup("fit")
    describe_data(record, datamodule)
    module = TaskModule.from_config(cfg, datamodule, backbone)
    module.run_config = record.config
    counts = module.param_counts()
    record.model.source, record.model.params_total = backbone.source, counts["total"]
    record.model.flops_per_sample = forward_flops_per_sample(module, datamodule.probe_batch())

    meter = RunMeter(cfg.monitor.metric, cfg.monitor.mode)
    callbacks = [instantiate(c) for c in (cfg.callbacks or {}).values() if c is not None]
    spawned = SpawnedFitState(str(run_dir / ".fit_state.json"), meter)
    stopper = StopOnSignal()
    callbacks += [FreezeSchedule(), meter, spawned, stopper]
    trainer = build_trainer(cfg, run_dir, loggers, callbacks)
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
    if cfg.test:
        test_into_record(trainer, module, datamodule, record.paths.best_ckpt, run_dir, record)
    close_loggers(trainer, loggers, record)


def _check_validated(record: Record, datamodule) -> None:
    """Every validation set's metrics at the best epoch are numbers, or the run fails."""
    from bakeoff.utils.nonfinite import check_finite

    for split in datamodule.val_sets:
        check_finite(split, record.metrics.get(split) or {})


def _record_fit(record: Record, trainer, module, meter, datamodule, tic: float) -> None:
    """History, best epoch and checkpoint, timing: after fit, or after an interrupted fit."""
    record.timing.fit_s = round(time.perf_counter() - tic, 3)
    record.timing.startup_s = meter.startup_s
    if meter.train_s > 0:  # rank 0's samples; every rank trains an equal shard at once
        rate = meter.train_samples / meter.train_s
        record.timing.train_samples_per_s = rate * trainer.world_size
    record.model.params_trainable = module.param_counts()["trainable"]
    record.finetune.trainable_history = module.trainable_history
    record.finetune.compiled_at_epoch = module.compiled_at_epoch
    record.history = meter.history
    record.monitor.best, record.monitor.best_epoch = meter.best, meter.best_epoch
    if meter.best_epoch is not None:
        best_row = next(r for r in meter.history if r["epoch"] == meter.best_epoch)
        for split in datamodule.val_sets:  # every validation set at the monitored best epoch
            record.metrics[split] = stage_metrics(best_row, split)
    ckpt = trainer.checkpoint_callback
    best_path = ckpt.best_model_path if ckpt is not None and ckpt.best_model_path else None
    record.paths.best_ckpt = best_path
