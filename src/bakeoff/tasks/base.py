"""The Task contract: everything that differs between task kinds, in one object.

A task kind (single-label classification, regression, token classification, ...) decides
- how raw labels become training targets (`label_names`, `encode`) and batches (`collate_labels`),
  and which key stratifies the train/val split (`stratify`; None: a plain random split);
- which features the head reads (`features`: pooled per example, or per token) and the head
  (`build_head`), the loss and the metric collection;
- what a test step keeps per example and how it becomes the predictions file (`gather`, `rows`):
  `index,label,pred`, then either a `score` column (higher is better; its mean is the statistic the
  significance tests pair on) or `tp,fp,fn` counts (the statistic is their F1).
The TaskModule and the DataModules call these and never branch on the kind; adding a kind is one
module here plus one `conf/task/<kind>.yaml` (see docs/adding.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection

from bakeoff.errors import ConfigError


class Task:
    name: str = ""
    # Token tasks label words: text is split into words, tokenized with word ids, and labels are
    # aligned to the first sub-token of each word (`align`).
    word_level: bool = False
    # The value every position without a target carries in a label tensor (ignored by losses).
    ignore_index: int = -100

    def __init__(
        self,
        name: str,
        metrics: Sequence[str],
        monitor: dict[str, str],
        head_dropout: float | None = None,
        **options: Any,
    ) -> None:
        self.name = name
        self.metric_names = list(metrics)
        unknown = [m for m in self.metric_names if m not in self.available_metrics()]
        if unknown:
            raise ConfigError(
                f"task.metrics: {unknown} not available for task '{name}'; "
                f"choose from {sorted(self.available_metrics())}"
            )
        self.monitor = dict(monitor)
        self.head_dropout = head_dropout  # None: the model config's head_dropout
        if options:
            raise ConfigError(f"task '{name}' has no option(s) {sorted(options)}")

    # -- labels -------------------------------------------------------------------------------
    def check_items(self, items: Sequence[Any], where: str) -> None:
        """Raise a DataError when the inputs cannot serve this task (e.g. pairs expected)."""

    def label_names(self, train_labels: Sequence[Any], given: Sequence[str] | None) -> list[str]:
        """The output vocabulary (class order); `given`: a source's or a checkpoint's own order."""
        raise NotImplementedError

    def encode(self, labels: Sequence[Any], label_names: Sequence[str], where: str) -> list:
        """One training target per example (an int, a float, a list ...)."""
        raise NotImplementedError

    def stratify(self, targets: Sequence[Any]) -> np.ndarray | None:
        """The key stratified splits are made on; None: plain random splits."""
        return None

    def align(self, target: Any, word_ids: Sequence[int]) -> Any:
        """Word-level target -> one per token (word-level tasks only); a token's word id is -1
        for a special token."""
        return target

    def placeholder(self) -> Any:
        """A target for unlabeled inputs (prediction), shaped like a real one."""
        return 0

    # The batch keys this kind's targets travel under (`collate_labels`); the first, `labels`,
    # has one row per example.
    label_keys: tuple[str, ...] = ("labels",)

    def collate_labels(self, targets: list[Any], width: int | None) -> Tensor | dict[str, Tensor]:
        """A batch's targets: one tensor (the batch's `labels`), or named tensors, one per
        `label_keys` entry; `width`: the padded token length (token tasks)."""
        raise NotImplementedError

    def label_batch(self, targets: list[Any], width: int | None) -> dict[str, Tensor]:
        """`collate_labels` as batch keys: what every DataModule's collate adds to a batch."""
        labels = self.collate_labels(targets, width)
        return labels if isinstance(labels, dict) else {"labels": labels}

    def targets(self, batch: dict[str, Tensor]) -> Any:
        """What `loss` and `metric_inputs` take: `labels`, or the named label tensors."""
        if self.label_keys == ("labels",):
            return batch["labels"]
        return {key: batch[key] for key in self.label_keys}

    # -- model --------------------------------------------------------------------------------
    def num_outputs(self, label_names: Sequence[str]) -> int:
        return len(label_names)

    def build_head(self, feature_dim: int, label_names: Sequence[str], dropout: float) -> nn.Module:
        from bakeoff.tasks.heads import LinearHead

        if self.head_dropout is not None:
            dropout = self.head_dropout
        return LinearHead(feature_dim, self.num_outputs(label_names), dropout)

    def features(self, backbone: nn.Module, batch: dict[str, Tensor]) -> Tensor:
        """What the head reads: pooled features (batch, dim) unless the kind needs per-token ones."""
        return backbone(batch)

    def loss(self, outputs: Tensor, targets: Any) -> Tensor:
        """`targets`: what `collate_labels` made, a tensor or named tensors."""
        raise NotImplementedError

    def available_metrics(self) -> dict[str, Any]:
        """name -> factory(label_names, validate) for the metrics this kind can compute."""
        raise NotImplementedError

    def metrics(self, label_names: Sequence[str], validate: bool) -> MetricCollection:
        factories = self.available_metrics()
        return MetricCollection(
            {name: factories[name](label_names, validate) for name in self.metric_names}
        )

    def metric_inputs(self, outputs: Tensor, targets: Any) -> tuple[Tensor, Tensor]:
        """(preds, target) as the metric collection takes them."""
        return outputs, targets

    def probabilities(self, outputs: Tensor) -> Tensor:
        """Model outputs as what bakeoff-predict reports (probabilities, or the values)."""
        return outputs.float()

    # -- predictions --------------------------------------------------------------------------
    def gather(self, outputs: Tensor, batch: dict[str, Tensor]) -> dict[str, Any]:
        """What a test or predict step keeps for the predictions file (on the CPU)."""
        return {
            "index": batch["index"].cpu(),
            "target": batch["labels"].cpu(),
            "output": self.probabilities(outputs.detach()).cpu(),
        }

    def rows(
        self, gathered: list[dict[str, Any]], label_names: Sequence[str], labeled: bool = True
    ) -> list[dict[str, Any]]:
        """One dict per example, in example order: index, [label], pred, the kind's columns and,
        when labeled, the per-example score columns the significance tests pair on."""
        raise NotImplementedError


def cat(gathered: list[dict[str, Any]], key: str) -> Tensor:
    return torch.cat([g[key] for g in gathered])


def in_example_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r["index"])
