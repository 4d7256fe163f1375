"""One fine-tuning run: instantiate from config, fit, test the best checkpoint, write the record."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from bakeoff.record.schema import Record
from bakeoff.runs.common import (
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
    requeued (after a pre-emption signal, see bakeoff.runs.resume) resumes the same way.
    """
    if _resuming(cfg):
        from bakeoff.runs.resume import completed_record, requeued

        if requeued():
            log.info("resume: SLURM requeued this job (restart %d)", requeued())
        done = completed_record(Path(cfg.paths.output_dir))
        if done is not None:
            log.info("resume: %s is completed, not run again", cfg.paths.output_dir)
            return done
        from bakeoff.callbacks.budget import paused_within

        paused = completed_record(Path(cfg.paths.output_dir), status="paused")
        if paused_within(paused, cfg):
            log.info("resume: %s has trained its budget.epochs already", cfg.paths.output_dir)
            return paused
    from bakeoff.checks.validate import validate_config

    return recorded(cfg, _fit_and_test, check=validate_config)  # the config checked first


def _resuming(cfg: DictConfig) -> bool:
    from bakeoff.runs.resume import requeued

    return bool(cfg.get("resume")) or requeued() > 0


def _fit_and_test(cfg: DictConfig, run_dir: Path, record: Record) -> None:
    import lightning as L

    from bakeoff.loggers.wandb import finish_wandb
    from bakeoff.runs.resume import resume_checkpoint, wandb_run_id

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
    # A classical baseline (model.estimator: TF-IDF + LR, majority) is fitted by scikit-learn
    # instead of a Trainer, into the same record, predictions file and loggers.
    if cfg.model.get("estimator") is not None:
        from bakeoff.models.classical import text_data
        from bakeoff.runs.classical import fit_and_test as build_fit_test

        data = text_data(cfg)
    else:
        build_fit_test, data = _build_fit_test, build_data(cfg, None)
    # The data's first read and all its checks come before any logger starts (no W&B run, no
    # logs dir for a missing file) and before any weights load.
    data.read()
    # Then the loggers: a W&B run starts in the background while the model is built.
    loggers = build_loggers(cfg, wandb_id=wandb_id)  # a CSV logger appends to earlier rows
    try:
        build_fit_test(cfg, run_dir, record, loggers, ckpt_path, data)
    finally:
        finish_wandb(loggers)


def _uses_wandb(cfg: DictConfig) -> bool:
    from bakeoff.loggers.wandb import WANDB_TARGETS

    return any(
        c is not None and c.get("_target_") in WANDB_TARGETS and c.get("mode") != "disabled"
        for c in (cfg.get("logger") or {}).values()
    )


def _build_fit_test(
    cfg: DictConfig,
    run_dir: Path,
    record: Record,
    loggers: list,
    ckpt_path: str | None,
    datamodule,
) -> None:
    from bakeoff.callbacks.budget import TrainingBudget, budget_epochs
    from bakeoff.callbacks.exact_resume import ExactResume
    from bakeoff.callbacks.measure import RunMeter, SpawnedFitState, forward_flops_per_sample
    from bakeoff.models.finetune import FreezeSchedule
    from bakeoff.models.module import TaskModule
    from bakeoff.runs.resume import StopOnSignal, interruption
    from bakeoff.utils.build import build as instantiate

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
    budget = TrainingBudget(budget_epochs(cfg))
    callbacks += [FreezeSchedule(), meter, spawned, stopper, budget, ExactResume()]
    n_train = datamodule.sizes().get("n_train")
    trainer = build_trainer(cfg, run_dir, loggers, callbacks, n_train=n_train)
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
    record.data.padded_token_fraction = datamodule.padded_fraction()
    if budget.paused:  # tested once the run reaches its end (resume=true), not now
        record.status = "paused"
    elif cfg.test:
        test_into_record(trainer, module, datamodule, record.paths.best_ckpt, run_dir, record)
    close_loggers(trainer, loggers, record)


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
    record.history = meter.history
    record.monitor.best, record.monitor.best_epoch = meter.best, meter.best_epoch
    if meter.best_epoch is not None:
        best_row = next(r for r in meter.history if r["epoch"] == meter.best_epoch)
        for split in datamodule.val_sets:  # every validation set at the monitored best epoch
            record.metrics[split] = stage_metrics(best_row, split)
    ckpt = trainer.checkpoint_callback
    best_path = ckpt.best_model_path if ckpt is not None and ckpt.best_model_path else None
    record.paths.best_ckpt = best_path
