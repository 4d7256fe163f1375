"""Single-label classification (text, image, sentence pairs): softmax head, cross-entropy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from bakeoff.data.splits import label_vocabulary
from bakeoff.errors import ConfigError, DataError
from bakeoff.tasks.base import Task, cat, in_example_order
from bakeoff.tasks.metrics import MatthewsCorrCoef, PositiveClassF1


def _multiclass(metric: str, average: str):
    def make(label_names: Sequence[str], validate: bool):
        from torchmetrics import classification as tmc

        cls = getattr(tmc, f"Multiclass{metric}")
        # torchmetrics defaults to micro averaging; the paper tables mean macro. validate_args=False
        # in training keeps the step free of host syncs (the checks read tensor values).
        return cls(num_classes=len(label_names), average=average, validate_args=validate)

    return make


def _matthews(label_names: Sequence[str], validate: bool):
    return MatthewsCorrCoef(num_classes=len(label_names), validate_args=validate)


class Classification(Task):
    """One class per example. Metrics: acc, f1_macro, precision_macro, recall_macro, mcc (CoLA),
    and f1 / precision / recall of the positive class (MRPC, QQP: `positive_label`, by default
    the last class, which is GLUE's 1)."""

    def __init__(self, *args, positive_label: str | None = None, **kwargs) -> None:
        self.positive_label = positive_label
        super().__init__(*args, **kwargs)

    def positive_index(self, label_names: Sequence[str]) -> int:
        if self.positive_label is None:
            return len(label_names) - 1
        if self.positive_label not in label_names:
            raise ConfigError(
                f"task.positive_label='{self.positive_label}' is not a class; classes: "
                f"{list(label_names)}"
            )
        return list(label_names).index(self.positive_label)

    # -- labels -------------------------------------------------------------------------------
    def label_names(self, train_labels, given) -> list[str]:
        names = list(given) if given else label_vocabulary(train_labels)
        if len(names) < 2:
            raise DataError(f"classification needs at least 2 classes; the train split has {names}")
        return names

    def encode(self, labels, label_names, where: str) -> list[int]:
        to_id = {name: i for i, name in enumerate(label_names)}
        unknown = {str(v) for v in labels} - set(to_id)
        if unknown:
            raise DataError(f"{where} has labels not seen in train: {sorted(unknown)[:5]}")
        return [to_id[str(v)] for v in labels]

    def stratify(self, targets) -> np.ndarray:
        return np.asarray(targets)

    def collate_labels(self, targets: list[Any], width: int | None) -> Tensor:
        return torch.tensor(targets, dtype=torch.long)

    # -- model --------------------------------------------------------------------------------
    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(outputs, targets)

    def available_metrics(self) -> dict[str, Any]:
        def positive(stat: str):
            return lambda names, validate: PositiveClassF1(self.positive_index(names), stat)

        return {
            "acc": _multiclass("Accuracy", "micro"),
            "f1_macro": _multiclass("F1Score", "macro"),
            "precision_macro": _multiclass("Precision", "macro"),
            "recall_macro": _multiclass("Recall", "macro"),
            "mcc": _matthews,
            "f1": positive("f1"),
            "precision": positive("precision"),
            "recall": positive("recall"),
        }

    def probabilities(self, outputs: Tensor) -> Tensor:
        return outputs.float().softmax(-1)

    # -- predictions --------------------------------------------------------------------------
    def rows(self, gathered, label_names, labeled: bool = True) -> list[dict[str, Any]]:
        index, probs = cat(gathered, "index").tolist(), cat(gathered, "output")
        preds = probs.argmax(-1).tolist()
        targets = cat(gathered, "target").tolist()
        rows = []
        for i, p, y, pr in zip(index, preds, targets, probs.tolist(), strict=True):
            row: dict[str, Any] = {"index": i}
            if labeled:
                row["label"] = label_names[y]
            row["pred"], row["prob"] = label_names[p], pr[p]
            row |= {f"prob_{n}": v for n, v in zip(label_names, pr, strict=True)}
            if labeled:
                row["score"] = int(p == y)  # correctness: accuracy is its mean
            rows.append(row)
        return in_example_order(rows)


class PairClassification(Classification):
    """Sentence pairs (MRPC, QQP, MNLI, RTE ...): the two texts are tokenized as one pair."""

    def check_items(self, items, where: str) -> None:
        if len(items) and not isinstance(items[0], tuple):
            raise DataError(
                f"task={self.name} needs sentence pairs, but {where} has single texts: set "
                "data.source.text_pair_column to the column of the second sentence"
            )
