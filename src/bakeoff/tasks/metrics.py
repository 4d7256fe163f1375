"""Metrics torchmetrics does not have in the form the paper tables use."""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric


def f1_from_counts(tp: Tensor, fp: Tensor, fn: Tensor, stat: str) -> Tensor:
    """Precision, recall or F1 from summed counts; 0 where the denominator is 0 (seqeval's rule)."""
    tp, fp, fn = tp.double(), fp.double(), fn.double()
    if stat == "precision":
        num, den = tp, tp + fp
    elif stat == "recall":
        num, den = tp, tp + fn
    else:
        num, den = 2 * tp, 2 * tp + fp + fn
    return torch.where(den > 0, num / den.clamp(min=1), torch.zeros_like(den)).float()


class CountsMetric(Metric):
    """tp / fp / fn summed over the epoch (summed across DDP ranks), reported as `stat`."""

    full_state_update = False

    def __init__(self, stat: str = "f1") -> None:
        super().__init__()
        if stat not in ("f1", "precision", "recall"):
            raise ValueError(f"stat must be f1, precision or recall, got {stat!r}")
        self.stat = stat
        for name in ("tp", "fp", "fn"):
            self.add_state(name, default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def add_counts(self, tp: Tensor, fp: Tensor, fn: Tensor) -> None:
        self.tp += tp
        self.fp += fp
        self.fn += fn

    def compute(self) -> Tensor:
        return f1_from_counts(self.tp, self.fp, self.fn, self.stat)


class PositiveClassF1(CountsMetric):
    """Binary F1 / precision / recall of one class of a multiclass output (GLUE MRPC, QQP)."""

    def __init__(self, positive: int, stat: str = "f1") -> None:
        super().__init__(stat)
        self.positive = positive

    def update(self, logits: Tensor, target: Tensor) -> None:
        pred = logits.argmax(-1) == self.positive
        true = target == self.positive
        self.add_counts((pred & true).sum(), (pred & ~true).sum(), (~pred & true).sum())
