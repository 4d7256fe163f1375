"""What a run costs and how it went, measured while it runs: time, throughput, memory, FLOPs, history."""

from __future__ import annotations

import math
import time

import lightning as L
import torch

from bakeoff.utils.clock import job_age_s


def forward_flops_per_sample(
    module: torch.nn.Module, batch: dict[str, torch.Tensor]
) -> float | None:
    """Forward FLOPs per example, counted by torch's FlopCounterMode on real examples."""
    from torch.utils.flop_counter import FlopCounterMode

    n = int(batch["labels"].shape[0])
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(batch)
    finally:
        module.train(was_training)
    total = counter.get_total_flops()
    return float(total) / n if total else None


class RunMeter(L.Callback):
    """Train time without validation, samples seen, start-up time, and per-epoch logged metrics.

    Train time runs from each epoch start (or the end of a validation inside it) to the end of each
    batch, so data loading counts and validation does not.
    """

    def __init__(self, monitor: str, mode: str) -> None:
        self.monitor, self.mode = monitor, mode
        self.train_s = 0.0
        self.train_samples = 0
        self.startup_s: float | None = None
        self.history: list[dict[str, float]] = []
        self.best: float | None = None
        self.best_epoch: int | None = None
        self._mark: float | None = None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._mark = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.startup_s is None:
            self.startup_s = job_age_s()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = time.perf_counter()
        assert self._mark is not None  # set at every train epoch's start
        self.train_s += now - self._mark
        self._mark = now
        self.train_samples += int(batch["labels"].shape[0])

    def on_validation_end(self, trainer, pl_module) -> None:
        self._mark = time.perf_counter()
        if trainer.sanity_checking:
            return
        row = {"epoch": trainer.current_epoch}
        for k, v in trainer.callback_metrics.items():
            if k.startswith(("val/", "val_", "train/")):  # val_<name>/: extra validation sets
                row[k] = float(v)
        self.history.append(row)
        value = row.get(self.monitor)
        if value is None or math.isnan(value):
            return
        better = self.best is None or (
            value > self.best if self.mode == "max" else value < self.best
        )
        if better:
            self.best, self.best_epoch = value, trainer.current_epoch

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        # Train metrics are computed at epoch end, after validation: add them to the last row.
        if self.history and self.history[-1]["epoch"] == trainer.current_epoch:
            for k, v in trainer.callback_metrics.items():
                if k.startswith("train/"):
                    self.history[-1][k] = float(v)

    def state_dict(self) -> dict:
        return {"history": self.history, "best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.history, self.best, self.best_epoch = (
            state["history"],
            state["best"],
            state["best_epoch"],
        )


class SpawnedFitState(L.Callback):
    """Carries what rank 0 measured during fit back to the main process under `ddp_spawn`.

    With a spawn launcher, fit runs in child processes, and Lightning returns only the weights,
    checkpoint paths and callback metrics: the meter's epoch history (the record's val metrics),
    the freeze history and the padding count would stay in the children. Rank 0 writes them to
    `path` at fit end; the main process reads them back with `restore`.
    """

    METER = ("train_s", "train_samples", "startup_s", "history", "best", "best_epoch")

    def __init__(self, path, meter: RunMeter) -> None:
        self.path, self.meter = path, meter

    def on_fit_end(self, trainer, pl_module) -> None:
        if trainer.world_size == 1 or trainer.global_rank != 0:
            return
        import json

        state = {
            "meter": {k: getattr(self.meter, k) for k in self.METER},
            "trainable_history": pl_module.trainable_history,
            "compiled_at_epoch": pl_module.compiled_at_epoch,
            "tokens": getattr(trainer.datamodule, "tokens", None),
        }
        from bakeoff.utils.atomic import write_text

        # whole or not at all: a rank killed mid-write must not leave half a file to restore
        write_text(self.path, json.dumps(state))

    def restore(self, module, datamodule) -> None:
        """In the main process after fit: take over rank 0's figures if fit ran elsewhere."""
        import json
        import os

        if self.meter.startup_s is not None or not os.path.exists(self.path):
            return  # fit ran in this process: its own figures are here
        with open(self.path) as f:
            state = json.load(f)
        os.remove(self.path)
        for k, v in state["meter"].items():
            setattr(self.meter, k, v)
        module.trainable_history = state["trainable_history"]
        module.compiled_at_epoch = state["compiled_at_epoch"]
        if state["tokens"] is not None:
            datamodule.tokens = state["tokens"]
