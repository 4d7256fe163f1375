"""The one run path train, eval, predict and the benchmark share.

Loggers, the Trainer, the run record (`results.json`, always written, also when the run fails),
the test pass with its predictions file, and the closing of the loggers: built here once, so the
entry points differ only in what they do between (fit, or load a checkpoint).
"""

from __future__ import annotations

import csv
import functools
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf

from bakeoff.errors import BakeoffError, RunInterrupted, explain_out_of_memory
from bakeoff.record.schema import Record
from bakeoff.record.store import write_record

log = logging.getLogger(__name__)

PREDICTIONS_FILE = "test_predictions.csv"


def resolved(cfg: DictConfig) -> dict[str, Any]:
    return cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True))


def new_record(cfg: DictConfig, run_dir: Path) -> Record:
    """Everything known before anything runs: a failed job still gets a full record."""
    from bakeoff.loggers.wandb import run_identity
    from bakeoff.record.store import environment

    name, group, overrides = run_identity()
    record = Record(name=name, group=group, seed=cfg.seed, overrides=overrides)
    record.fold = cfg.data.get("fold")
    record.model.name = cfg.model.name
    # None while it interpolates a missing value (data=hf names itself by data.source.path): the
    # run's check then names what is missing, in a failed record
    record.data.name = OmegaConf.select(cfg, "data.name", throw_on_resolution_failure=False)
    record.data.task = cfg.task.name
    record.monitor.metric, record.monitor.mode = cfg.monitor.metric, cfg.monitor.mode
    record.resources.precision = str(cfg.trainer.precision)
    record.env = environment(cwd=Path(__file__).parent)
    record.paths.run_dir = str(run_dir)
    record.finetune.strategy = cfg.finetune.name
    return record


def recorded(
    check: Callable[[DictConfig], None] | None = None,
) -> Callable[[Callable[[DictConfig, Record], None]], Callable[[DictConfig], dict[str, Any]]]:
    """Wraps a run body `body(cfg, record)`: the record is written whatever happens, then
    whatever went wrong is re-raised (as lightning-hydra-template's `task_wrapper` does).

    `check(cfg)` runs first, before the config is resolved: a config error (bakeoff.checks.validate)
    fails the job with its message, and nothing is loaded. The wrapped function takes the config
    and returns the record as a dict.
    """

    def wrap(body: Callable[[DictConfig, Record], None]) -> Callable[[DictConfig], dict]:
        @functools.wraps(body)
        def run(cfg: DictConfig) -> dict[str, Any]:
            return _recorded_run(cfg, body, check)

        return run

    return wrap


def _recorded_run(
    cfg: DictConfig,
    body: Callable[[DictConfig, Record], None],
    check: Callable[[DictConfig], None] | None,
) -> dict[str, Any]:
    from bakeoff.record.store import check_writable
    from bakeoff.utils.job_memory import JobMemory

    memory = JobMemory()  # this job's own peaks, also in a process earlier jobs used
    run_dir = Path(cfg.paths.output_dir)
    check_writable(run_dir)  # before anything runs: the record must be writable at the end
    record = new_record(cfg, run_dir)
    try:
        if check is not None:
            check(cfg)
        record.config = resolved(cfg)
        body(cfg, record)
        if record.status != "paused":  # paused: its budget.epochs spent (callbacks.budget)
            record.status = "completed"
    except KeyboardInterrupt:
        record.status, record.error = "interrupted", "KeyboardInterrupt"
        raise
    except RunInterrupted as err:  # a signal: stopped at a step boundary, last.ckpt kept
        record.status, record.error = "interrupted", str(err)
        raise
    except Exception as err:
        record.status = "failed"
        explained = explain_out_of_memory(err)  # the remedies, not only torch's message
        shown = explained or err
        record.error = f"{type(shown).__name__}: {shown}"
        if not isinstance(err, BakeoffError):
            record.traceback = traceback.format_exc()
        if explained is not None:
            raise explained from err
        raise
    finally:
        resources = record.resources
        resources.peak_rss_mb = round(memory.peak_rss_mb(), 1)
        resources.peak_rss_method = memory.method
        resources.rss_at_start_mb = round(memory.rss_at_start_mb, 1)
        resources.peak_gpu_mem_mb = memory.peak_gpu_mem_mb()
        if record.config is None:
            record.config = cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=False))
        write_record(run_dir, record.to_dict())
    return record.to_dict()


def build_loggers(cfg: DictConfig, wandb_id: tuple[str, bool] | None = None) -> list:
    """The configured loggers; `wandb_id` = (run id, continue it) gives W&B loggers their run."""
    from bakeoff.loggers.wandb import WANDB_TARGETS
    from bakeoff.utils.build import build

    loggers = []
    for c in (cfg.get("logger") or {}).values():
        if c is None:
            continue
        extra = {}
        if wandb_id is not None and c.get("_target_") in WANDB_TARGETS:
            extra = {"id": wandb_id[0], "resume": "allow" if wandb_id[1] else None}
        loggers.append(build(c, **extra))
    return loggers


def log_interval(cfg: DictConfig, n_train: int | None) -> int:
    """trainer.log_every_n_steps, lowered to the number of batches of an epoch when the
    epoch is shorter (Lightning would warn and log no training step of the epoch)."""
    configured = int(cfg.trainer.get("log_every_n_steps") or 50)
    if not n_train:
        return configured
    steps = max(1, n_train // max(1, int(cfg.data.batch_size)))
    limit = cfg.trainer.get("limit_train_batches")
    if isinstance(limit, int) and not isinstance(limit, bool):
        steps = min(steps, limit)
    elif isinstance(limit, float) and limit <= 1.0:
        steps = int(steps * limit)
    return max(1, min(configured, steps))


def build_trainer(
    cfg: DictConfig,
    run_dir: Path,
    loggers: list,
    callbacks: Sequence = (),
    n_train: int | None = None,
):
    """The run's Trainer; `n_train` (training examples) sets log_every_n_steps (log_interval)."""
    from bakeoff.utils.build import build

    if not loggers:  # LearningRateMonitor refuses to run without a logger; nothing to log to
        callbacks = [c for c in callbacks if type(c).__name__ != "LearningRateMonitor"]
    from bakeoff.callbacks.checkpoint_io import AtomicCheckpointIO
    from bakeoff.runs.resume import no_lightning_requeue

    trainer = build(
        cfg.trainer,
        callbacks=list(callbacks),
        logger=loggers or False,
        default_root_dir=str(run_dir),
        plugins=[AtomicCheckpointIO()],  # a killed run never leaves half a checkpoint
        log_every_n_steps=log_interval(cfg, n_train),
    )
    no_lightning_requeue(trainer)
    return trainer


def describe_data(record: Record, datamodule) -> None:
    sizes = datamodule.sizes()
    record.data.num_classes = datamodule.num_classes
    record.data.label_names = list(datamodule.label_names)
    record.data.n_train, record.data.n_val = sizes.get("n_train"), sizes.get("n_val")
    record.data.n_test = sizes.get("n_test")
    record.data.n_val_extra = {
        k[len("n_val_") :]: v for k, v in sizes.items() if k.startswith("n_val_")
    }
    # splits read back from the token cache (data.cache_dir) instead of tokenized again
    record.data.cached_splits = getattr(datamodule, "cached_splits", None)
    # rows the data had but the run could not use (data.on_bad_rows=drop), per split and reason
    record.data.bad_rows = dict(getattr(datamodule, "bad_rows", {}))


def stage_metrics(metrics: dict[str, Any], stage: str) -> dict[str, float]:
    prefix = f"{stage}/"
    return {k[len(prefix) :]: float(v) for k, v in metrics.items() if k.startswith(prefix)}


def format_cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):  # word-level tags / a label set: space-separated
        return " ".join(map(str, value))
    return str(value)


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Predictions as CSV: a header from the first row, cells formatted by `format_cell`;
    written atomically (a reader or a crash never sees half a file)."""
    from bakeoff.utils.atomic import atomic_path

    with atomic_path(path) as tmp, tmp.open("x", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        if rows:
            writer.writerow(list(rows[0]))
        for row in rows:
            writer.writerow([format_cell(v) for v in row.values()])


def describe_model(
    record: Record,
    source: str,
    params_total: int,
    params_trainable: int | None = None,
    flops_per_sample: float | None = None,
) -> None:
    record.model.source, record.model.params_total = source, params_total
    record.model.params_trainable = params_trainable
    record.model.flops_per_sample = flops_per_sample


def record_history(
    record: Record, history: list[dict[str, Any]], best_epoch: int | None, best, val_sets
) -> None:
    """The validated epochs, the monitored best, and every validation set's metrics at it."""
    record.history = history
    record.monitor.best, record.monitor.best_epoch = best, best_epoch
    if best_epoch is not None:
        best_row = next(r for r in history if r["epoch"] == best_epoch)
        for split in val_sets:
            record.metrics[split] = stage_metrics(best_row, split)


def record_test(
    record: Record, metrics: dict[str, float], test_s: float, n: int, rows, run_dir: Path
) -> None:
    """The test metrics, the test pass's speed, and the predictions file (`rows`, if any)."""
    record.timing.test_s = round(test_s, 3)
    record.timing.eval_samples_per_s = n / max(test_s, 1e-9)
    record.metrics["test"] = metrics
    if rows is not None:
        write_rows(run_dir / PREDICTIONS_FILE, rows)
        record.paths.predictions = PREDICTIONS_FILE


def test_into_record(trainer, module, datamodule, ckpt_path, run_dir: Path, record: Record) -> None:
    """Test `ckpt_path` (None: the module as it is); metrics, speed and predictions go in the record."""
    tic = time.perf_counter()
    trainer.test(module, datamodule=datamodule, ckpt_path=ckpt_path or None, weights_only=True)
    test_s = time.perf_counter() - tic
    from bakeoff.callbacks.nonfinite import check_finite

    metrics = stage_metrics(trainer.callback_metrics, "test")
    record.metrics["test"] = metrics  # kept in the record of a run failed on them
    check_finite("test", metrics, module.test_outputs)  # never completed on NaN outputs
    rows = None
    if trainer.global_rank == 0 and module.test_outputs:
        rows = module.task.rows(module.test_outputs, datamodule.label_names)
    record_test(record, metrics, test_s, len(datamodule.datasets["test"]), rows, run_dir)


def close_loggers(trainer, loggers: list, record: Record) -> None:
    record.resources.device = str(trainer.strategy.root_device)
    record.resources.world_size = trainer.world_size
    log_final_metrics(loggers, record)


def log_final_metrics(loggers: list, record: Record) -> None:
    """The record's metrics as `final/<split>/<metric>`; a W&B logger's run id into the record."""
    from lightning.pytorch.loggers import WandbLogger

    final = {f"final/{s}/{k}": v for s, values in record.metrics.items() for k, v in values.items()}
    for lg in loggers:
        lg.log_metrics(final)
        if isinstance(lg, WandbLogger):
            record.run_id = lg.experiment.id
