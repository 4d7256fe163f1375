"""The run body of a classical baseline (`bakeoff.models.classical`): fit, score, test, record.

There is nothing to select among (one fit, no epochs): the validation metrics are recorded as
epoch 0 of the history and are the monitored value, so sweeps and searches read them as usual.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig

from bakeoff.errors import ConfigError
from bakeoff.models.classical import text_data
from bakeoff.record.schema import Record


def split_metrics(task, label_names, probs: np.ndarray, targets: Sequence[int]) -> dict:
    """The task's own metrics (and loss) of probabilities against targets, as a TaskModule logs.

    The log-probabilities stand in for logits: their softmax gives the probabilities back, and
    cross-entropy on them is the negative log-likelihood.
    """
    with np.errstate(divide="ignore"):  # a class absent from training: log 0 = -inf, softmax 0
        outputs = torch.from_numpy(np.log(probs))
    target = torch.as_tensor(list(targets), dtype=torch.long)
    metrics = task.metrics(label_names, validate=True)
    metrics.update(*task.metric_inputs(outputs, target))
    values = {name: float(v) for name, v in metrics.compute().items()}
    values["loss"] = float(task.loss(outputs, target))
    return values


def fit_and_test(
    cfg: DictConfig, run_dir: Path, record: Record, loggers: list, ckpt_path, data=None
) -> None:
    """Fit the estimator on train, score train and validation, test: the record as a
    Lightning run fills it (history of one epoch, monitored best, test metrics, predictions).
    `data`: the run's `text_data`, already read (its checks passed) before the loggers started."""
    from bakeoff.runs.common import (
        PREDICTIONS_FILE,
        describe_data,
        log_final_metrics,
        stage_metrics,
        write_rows,
    )
    from bakeoff.utils.build import build
    from bakeoff.utils.clock import job_age_s

    name = cfg.model.name
    if ckpt_path is not None:
        raise ConfigError(
            f"ckpt_path: model={name} is fitted by scikit-learn, it has no checkpoint"
        )
    if not cfg.train:
        raise ConfigError(f"train=false: model={name} has no checkpoint to test, it is fitted here")
    data = data if data is not None else text_data(cfg)
    data.setup("fit")
    describe_data(record, data)
    estimator = build(cfg.model.estimator)
    record.model.source = "sklearn"
    record.finetune.strategy = None  # fitted from scratch: no backbone to fine-tune
    record.resources.precision = "64-true"  # scikit-learn computes in float64
    record.resources.device, record.resources.world_size = "cpu", 1
    for lg in loggers:
        lg.log_hyperparams(record.config)

    train = data.datasets["train"]
    record.timing.startup_s = job_age_s()
    tic = time.perf_counter()
    estimator.fit(train.texts, train.targets, data.num_classes, seed=cfg.seed)
    record.timing.fit_s = round(time.perf_counter() - tic, 3)
    record.timing.train_samples_per_s = len(train) / max(record.timing.fit_s, 1e-9)
    record.model.params_total = record.model.params_trainable = estimator.n_params()
    record.model.flops_per_sample = estimator.flops_per_sample(data.probe_texts())

    row: dict[str, float] = {"epoch": 0}
    for split in ["train", *data.val_sets]:
        part = data.datasets[split]
        scores = split_metrics(
            data.task, data.label_names, estimator.predict_proba(part.texts), part.targets
        )
        row |= {f"{split}/{k}": v for k, v in scores.items()}
    record.history = [row]
    _record_monitor(cfg, record, row)
    for split in data.val_sets:
        record.metrics[split] = stage_metrics(row, split)
    for lg in loggers:
        lg.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=0)

    if cfg.test:
        test = data.datasets["test"]
        tic = time.perf_counter()
        probs = estimator.predict_proba(test.texts)
        test_s = time.perf_counter() - tic
        record.timing.test_s = round(test_s, 3)
        record.timing.eval_samples_per_s = len(test) / max(test_s, 1e-9)
        record.metrics["test"] = split_metrics(data.task, data.label_names, probs, test.targets)
        gathered = {
            "index": torch.arange(len(test)),
            "target": torch.as_tensor(test.targets, dtype=torch.long),
            "output": torch.from_numpy(probs),
        }
        write_rows(run_dir / PREDICTIONS_FILE, data.task.rows([gathered], data.label_names))
        record.paths.predictions = PREDICTIONS_FILE
    log_final_metrics(loggers, record)
    for lg in loggers:  # no Trainer to finalize them (a CSV logger writes its rows here)
        lg.finalize("success")


def _record_monitor(cfg: DictConfig, record: Record, row: dict[str, float]) -> None:
    metric = cfg.monitor.metric
    if metric not in row:
        choices = sorted(k for k in row if k.startswith("val"))
        raise ConfigError(f"monitor.metric={metric} is not recorded; choose from {choices}")
    record.monitor.best, record.monitor.best_epoch = row[metric], 0
