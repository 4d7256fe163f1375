"""Multi-label classification (text or image): any number of labels per example.

Sigmoid outputs (one logit per label), binary cross-entropy; a label is predicted when its
probability is above `threshold` (strictly, as torchmetrics thresholds). A row's labels come as a
list (a JSONL/Parquet list column, an HF `Sequence(ClassLabel)`, the 0/1 label columns a source
turned into names), or as a string split on `separator` ("a,b"; "" is the empty set; a written
Python/JSON list "['a', 'b']" is read as one).

Metrics: f1_micro, f1_macro, precision_micro, recall_micro at the threshold, and map (macro
average precision over the labels, threshold-free; a label with no positive example in the
split has AP 0 there, as in sklearn's average_precision_score, and torchmetrics warns).
Predictions: `index,label,pred` (label sets as JSON lists, `["a b", "c"]`, which read back
losslessly, also through `label_set`), `prob_<label>` and per-example `tp,fp,fn` label counts,
whose sums give micro F1 (the statistic the significance tests pair on).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from bakeoff.errors import ConfigError, DataError
from bakeoff.tasks.base import Task, cat, in_example_order


def _stat(metric: str, average: str, task: MultiLabel):
    def make(label_names: Sequence[str], validate: bool):
        from torchmetrics import classification as tmc

        cls = getattr(tmc, f"Multilabel{metric}")
        # torchmetrics defaults to micro averaging; say which. zero_division=0 as sklearn's
        # zero_division=0: a label never predicted nor true scores 0 in the macro mean.
        return cls(
            num_labels=len(label_names),
            threshold=task.threshold,
            average=average,
            zero_division=0,
            validate_args=validate,
        )

    return make


def _average_precision(label_names: Sequence[str], validate: bool):
    from torchmetrics.classification import MultilabelAveragePrecision

    # thresholds=None: exact AP from all scores (as sklearn's average_precision_score).
    return MultilabelAveragePrecision(
        num_labels=len(label_names), average="macro", thresholds=None, validate_args=validate
    )


def label_list(label_names: Sequence[str], on: Sequence[bool]) -> str:
    """A label set as the predictions file writes it: a JSON list (`["a b", "c"]`), which reads
    back losslessly whatever the labels hold (spaces, the separator, quotes)."""
    return json.dumps(
        [n for n, flag in zip(label_names, on, strict=True) if flag], ensure_ascii=False
    )


class MultiLabel(Task):
    """One sigmoid output per label; `threshold` turns probabilities into label sets,
    `separator` splits labels written as one string."""

    def __init__(self, *args, threshold: float = 0.5, separator: str = ",", **kwargs) -> None:
        if not 0.0 < float(threshold) < 1.0:
            raise ConfigError(f"task.threshold must be in (0, 1), got {threshold}")
        if not separator:
            raise ConfigError("task.separator must not be empty (e.g. ',' or '|' or ' ')")
        self.threshold, self.separator = float(threshold), separator
        super().__init__(*args, **kwargs)

    # -- labels -------------------------------------------------------------------------------
    def label_set(self, value: Any) -> list[str]:
        """A row's labels as names, first seen first, without repeats."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("[") and text.endswith("]"):  # a list written as text
                try:
                    value = json.loads(text)  # as the predictions file writes it
                except ValueError:
                    try:
                        value = ast.literal_eval(text)  # a Python list ['a', 'b']
                    except (ValueError, SyntaxError):
                        value = [v.strip() for v in text[1:-1].split(self.separator)]
            else:
                value = text.split(self.separator)
        elif hasattr(value, "tolist") and not isinstance(value, (int, float)):
            value = value.tolist()  # numpy arrays (Parquet list columns)
        if not isinstance(value, (list, tuple, set)):
            value = [value]
        names = [str(v).strip() for v in value]
        return list(dict.fromkeys(n for n in names if n))

    def label_names(self, train_labels, given) -> list[str]:
        if given:
            names = [str(n) for n in given]
        else:
            names = sorted({n for v in train_labels for n in self.label_set(v)})
        if not names:
            raise DataError("multi-label classification found no labels in the train split")
        return names

    def encode(self, labels, label_names, where: str) -> list[list[float]]:
        to_id = {name: i for i, name in enumerate(label_names)}
        out = []
        unknown: dict[str, int] = {}
        for row, value in enumerate(labels):
            target = [0.0] * len(label_names)
            for name in self.label_set(value):
                if name in to_id:
                    target[to_id[name]] = 1.0
                else:
                    unknown.setdefault(name, row)
            out.append(target)
        if unknown:
            shown = ", ".join(f"'{n}' (row {r})" for n, r in list(unknown.items())[:5])
            raise DataError(
                f"{where} has labels not among the model's labels: {shown}; labels: "
                f"{list(label_names)[:20]}"
            )
        return out

    def placeholder(self) -> list:
        return []  # unlabeled rows (predict): a batch of these collates to (B, 0)

    def collate_labels(self, targets: list[Any], width: int | None) -> Tensor:
        return torch.tensor(targets, dtype=torch.float32)

    # -- model --------------------------------------------------------------------------------
    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(outputs.float(), targets.float())

    def metric_inputs(self, outputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        # Probabilities, not logits: torchmetrics would guess (sigmoid only when a value is outside
        # [0, 1]); integer targets, as its average-precision check wants.
        return outputs.float().sigmoid(), targets.long()

    def available_metrics(self) -> dict[str, Any]:
        return {
            "f1_micro": _stat("F1Score", "micro", self),
            "f1_macro": _stat("F1Score", "macro", self),
            "precision_micro": _stat("Precision", "micro", self),
            "recall_micro": _stat("Recall", "micro", self),
            "precision_macro": _stat("Precision", "macro", self),
            "recall_macro": _stat("Recall", "macro", self),
            "map": _average_precision,
        }

    def probabilities(self, outputs: Tensor) -> Tensor:
        return outputs.float().sigmoid()

    # -- predictions --------------------------------------------------------------------------
    def rows(self, gathered, label_names, labeled: bool = True) -> list[dict[str, Any]]:
        index, probs = cat(gathered, "index").tolist(), cat(gathered, "output")
        predicted = (probs > self.threshold).tolist()
        targets = (cat(gathered, "target") > 0.5).tolist() if labeled else [None] * len(index)
        rows = []
        for i, pr, p, y in zip(index, probs.tolist(), predicted, targets, strict=True):
            row: dict[str, Any] = {"index": i}
            if labeled:
                row["label"] = label_list(label_names, y)
            row["pred"] = label_list(label_names, p)
            row |= {f"prob_{n}": v for n, v in zip(label_names, pr, strict=True)}
            if labeled:
                row["tp"] = sum(a and b for a, b in zip(p, y, strict=True))
                row["fp"] = sum(a and not b for a, b in zip(p, y, strict=True))
                row["fn"] = sum(b and not a for a, b in zip(p, y, strict=True))
            rows.append(row)
        return in_example_order(rows)
