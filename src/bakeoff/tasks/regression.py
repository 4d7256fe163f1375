"""Regression (STS-B): one scalar per example, MSE loss, Pearson and Spearman correlation."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from bakeoff.errors import DataError
from bakeoff.tasks.base import Task, cat, in_example_order
from bakeoff.tasks.metrics import Pearson, Spearman


def _metric(cls_name: str):
    def make(label_names, validate: bool):
        import torchmetrics.regression as tmr

        return getattr(tmr, cls_name)()

    return make


class Regression(Task):
    """Scalar head; targets are floats. No stratification (a continuous target has no classes)."""

    def label_names(self, train_labels, given) -> list[str]:
        return []

    def encode(self, labels, label_names, where: str) -> list[float]:
        out = []
        for i, v in enumerate(labels):
            try:
                value = float(v)
            except (TypeError, ValueError):
                value = math.nan
            if not math.isfinite(value):
                raise DataError(f"{where}: row {i} has a label that is not a number: {v!r}")
            out.append(value)
        return out

    def placeholder(self) -> float:
        return 0.0

    def collate_labels(self, targets: list[Any], width: int | None) -> Tensor:
        return torch.tensor(targets, dtype=torch.float32)

    def num_outputs(self, label_names) -> int:
        return 1

    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return F.mse_loss(outputs.squeeze(-1).float(), targets)

    def metric_inputs(self, outputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        return outputs.squeeze(-1).float(), targets

    def available_metrics(self) -> dict[str, Any]:
        return {
            "pearson": lambda names, validate: Pearson(),
            "spearman": lambda names, validate: Spearman(),
            "mse": _metric("MeanSquaredError"),
        }

    def probabilities(self, outputs: Tensor) -> Tensor:
        return outputs.squeeze(-1).float()

    def rows(self, gathered, label_names, labeled: bool = True) -> list[dict[str, Any]]:
        index = cat(gathered, "index").tolist()
        preds = cat(gathered, "output").tolist()
        targets = cat(gathered, "target").tolist()
        rows = []
        for i, p, y in zip(index, preds, targets, strict=True):
            row: dict[str, Any] = {"index": i}
            if labeled:
                row["label"] = y
            row["pred"] = p
            if labeled:
                row["score"] = -((p - y) ** 2)  # higher is better; its mean is -MSE
            rows.append(row)
        return in_example_order(rows)
