"""The run body of a classical baseline (`bakeoff.models.classical`): fit, score, test, record.

There is nothing to select among (one fit, no epochs): the validation metrics are recorded as
epoch 0 of the history and are the monitored value, so sweeps and searches read them as usual.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from omegaconf import DictConfig

from bakeoff.errors import ConfigError
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


def fit_and_test(cfg: DictConfig, parts, record: Record, loggers: list, ckpt_path) -> None:
    """Fit the estimator on train, score train and validation, test: the record as a
    Lightning run fills it (history of one epoch, monitored best, test metrics, predictions)."""
    from bakeoff.runs.common import (
        describe_model,
        log_final_metrics,
        record_history,
        record_test,
    )
    from bakeoff.utils.clock import job_age_s

    name = cfg.model.name
    if ckpt_path is not None:
        raise ConfigError(
            f"ckpt_path: model={name} is fitted by scikit-learn, it has no checkpoint"
        )
    if not cfg.train:
        raise ConfigError(f"train=false: model={name} has no checkpoint to test, it is fitted here")
    data, estimator = parts.datamodule, parts.estimator
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
    n_params = estimator.n_params()
    flops = estimator.flops_per_sample(data.probe_texts())
    describe_model(record, "sklearn", n_params, n_params, flops)

    row: dict[str, float] = {"epoch": 0}
    for split in ["train", *data.val_sets]:
        part = data.datasets[split]
        scores = split_metrics(
            data.task, data.label_names, estimator.predict_proba(part.texts), part.targets
        )
        row |= {f"{split}/{k}": v for k, v in scores.items()}
    _check_monitor(cfg, row)
    record_history(record, [row], 0, row[cfg.monitor.metric], data.val_sets)
    for lg in loggers:
        lg.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=0)

    if cfg.test:
        test = data.datasets["test"]
        tic = time.perf_counter()
        probs = estimator.predict_proba(test.texts)
        test_s = time.perf_counter() - tic
        gathered = {
            "index": torch.arange(len(test)),
            "target": torch.as_tensor(test.targets, dtype=torch.long),
            "output": torch.from_numpy(probs),
        }
        rows = data.task.rows([gathered], data.label_names)
        metrics = split_metrics(data.task, data.label_names, probs, test.targets)
        record_test(record, metrics, test_s, len(test), rows, record.paths.run_path())
    log_final_metrics(loggers, record)
    for lg in loggers:  # no Trainer to finalize them (a CSV logger writes its rows here)
        lg.finalize("success")


def _check_monitor(cfg: DictConfig, row: dict[str, float]) -> None:
    metric = cfg.monitor.metric
    if metric not in row:
        choices = sorted(k for k in row if k.startswith("val"))
        raise ConfigError(f"monitor.metric={metric} is not recorded; choose from {choices}")
