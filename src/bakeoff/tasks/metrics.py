"""Metrics torchmetrics does not have in the form the paper tables use."""

from __future__ import annotations

import warnings

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.classification import MulticlassMatthewsCorrCoef
from torchmetrics.regression import PearsonCorrCoef, SpearmanCorrCoef
from torchmetrics.utilities import dim_zero_cat


class WeightedMean(Metric):
    """An example-weighted mean: sum(value * weight) / sum(weight), on device (no host sync, no
    NaN check). torchmetrics 1.9.0's MeanMetric(nan_strategy="disable") replaces the weights with
    ones, which averages batch means instead of examples."""

    full_state_update = False
    total: Tensor  # states (add_state)
    weight: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.add_state(
            "total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state(
            "weight", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )

    def update(self, value: Tensor, weight: Tensor | float = 1.0) -> None:
        weight = torch.as_tensor(weight, dtype=torch.float64, device=self.total.device)
        self.total += (value.double() * weight).sum()
        self.weight += weight.sum() if weight.ndim else weight * value.numel()

    def compute(self) -> Tensor:
        return (self.total / self.weight).float()


def loss_meter() -> Metric:
    """The per-stage loss, averaged over an epoch's examples."""
    return WeightedMean()


class MatthewsCorrCoef(MulticlassMatthewsCorrCoef):
    """Multiclass MCC from the confusion matrix (Gorodkin's R_K, sklearn's formula); 0 where the
    denominator is 0 (one class predicted or one class present), as sklearn and GLUE's CoLA
    scoring. torchmetrics 1.9 substitutes a nonzero value there."""

    def compute(self) -> Tensor:
        c = self.confmat.double()
        t, p, n = c.sum(1), c.sum(0), c.sum()
        cov_tp = c.trace() * n - (t * p).sum()
        den = (n * n - (p * p).sum()) * (n * n - (t * t).sum())
        return torch.where(den > 0, cov_tp / den.clamp(min=1e-300).sqrt(), 0.0).float()


def _zero_when_constant(value: Tensor, *sides: Tensor) -> Tensor:
    """A correlation with a constant side is 0/0 (scipy: nan); bakeoff scores it 0, as MCC's zero
    denominator, so that a collapsed model cannot win a selection on a nan. A nan from non-finite
    values stays nan."""
    finite = torch.stack([torch.isfinite(s).all() for s in sides]).all()
    return torch.where(torch.isnan(value) & finite, torch.zeros_like(value), value)


class Pearson(PearsonCorrCoef):
    """Pearson's r; 0 when predictions or targets are constant."""

    def compute(self) -> Tensor:
        return _zero_when_constant(super().compute(), self.mean_x, self.mean_y)


class Spearman(SpearmanCorrCoef):
    """Spearman's rho; 0 when predictions or targets are constant. Keeps every value of the epoch
    (as torchmetrics does; its warning about that is silenced: the split is bakeoff's to size)."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*SpearmanCorrcoef.*")
            super().__init__()

    def compute(self) -> Tensor:
        value = super().compute()
        return _zero_when_constant(value, dim_zero_cat(self.preds), dim_zero_cat(self.target))


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
    higher_is_better = True
    tp: Tensor  # states (add_state)
    fp: Tensor
    fn: Tensor

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


# -- token classification (NER) ---------------------------------------------------------------
def entities(tags: list[str]) -> set[tuple[str, int, int]]:
    """The entities of one sentence's tags as (type, start, end) spans, conlleval's chunking
    (seqeval's default mode): an entity starts at `B-X`, or at `I-X` after `O` or after another
    type, and runs over the `I-X` that follow. Reads IOB2 (BIO) and IOB1 alike."""
    spans: set[tuple[str, int, int]] = set()
    start: int | None = None
    kind = ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, t = tag.partition("-")
        if start is not None and (prefix != "I" or t != kind):
            spans.add((kind, start, i))
            start = None
        if prefix == "B" or (prefix == "I" and start is None):
            start, kind = i, t
    return spans


def entity_counts(gold: list[str], pred: list[str]) -> tuple[int, int, int]:
    """(tp, fp, fn) entities of one sentence: an entity counts when type and span both match."""
    true, found = entities(gold), entities(pred)
    tp = len(true & found)
    return tp, len(found) - tp, len(true) - tp


class EntityF1(CountsMetric):
    """Entity-level F1 / precision / recall of tag sequences (NER), as seqeval computes them
    (micro over entities, default conlleval mode). Takes word-level tag ids per sentence: `preds`
    and `target` (batch, words); target `ignore_index` marks padding, a negative pred is `O` (a
    word without a prediction). The chunking runs on the CPU: one copy per batch."""

    def __init__(self, label_names, stat: str = "f1", ignore_index: int = -100) -> None:
        super().__init__(stat)
        self.label_names, self.ignore_index = list(label_names), ignore_index

    def tags(self, ids: list[int]) -> list[str]:
        return [self.label_names[i] if i >= 0 else "O" for i in ids]

    def update(self, preds: Tensor, target: Tensor) -> None:
        counts = [0, 0, 0]
        for p, y in zip(preds.cpu().tolist(), target.cpu().tolist(), strict=True):
            n = sum(v != self.ignore_index for v in y)
            for k, c in enumerate(entity_counts(self.tags(y[:n]), self.tags(p[:n]))):
                counts[k] += c
        tp, fp, fn = (torch.tensor(c, device=self.tp.device) for c in counts)
        self.add_counts(tp, fp, fn)


class WordAccuracy(Metric):
    """Share of labeled words whose tag is right (on device, no host sync). `preds` and `target`
    (batch, words); target `ignore_index` is padding; a negative pred (a word without a
    prediction) counts as the `O` tag at `o_index`."""

    full_state_update = False
    higher_is_better = True
    correct: Tensor  # states (add_state)
    total: Tensor

    def __init__(self, o_index: int = -1, ignore_index: int = -100) -> None:
        super().__init__()
        self.o_index, self.ignore_index = o_index, ignore_index
        for name in ("correct", "total"):
            self.add_state(name, default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        preds = torch.where(preds < 0, torch.full_like(preds, self.o_index), preds)
        labeled = target != self.ignore_index
        self.correct += ((preds == target) & labeled).sum()
        self.total += labeled.sum()

    def compute(self) -> Tensor:
        return (self.correct.double() / self.total.clamp(min=1)).float()
