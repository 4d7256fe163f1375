"""What text and image classification data have in common: labels, splits, loaders.

A *source* (see `sources.py`) says where examples come from and returns raw splits; the
DataModule turns them into index sets (`splits.py`) and batches the backbone can eat
(subclasses: `text.py`, `image.py`). Batches are dicts with `labels` and `index` (the
example's position in its split, so test predictions can be paired across runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from bakeoff.data.splits import label_vocabulary, split_indices
from bakeoff.errors import DataError


@dataclass
class RawSplit:
    items: Sequence[Any]  # texts, image paths, arrays ... whatever the subclass understands
    labels: Sequence[Any]


class IndexedDataset(Dataset):
    """A view of `items` at `indices`, yielding (item, label id, position in this split)."""

    def __init__(self, items, label_ids: np.ndarray, indices: np.ndarray, transform=None):
        self.items, self.label_ids, self.indices, self.transform = (
            items,
            label_ids,
            indices,
            transform,
        )

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        j = int(self.indices[i])
        item = self.items[j]
        return (self.transform(item) if self.transform else item), int(self.label_ids[j]), i


class ClassificationData(L.LightningDataModule):
    task = "classification"

    def __init__(
        self,
        name: str,
        source: Any,
        batch_size: int,
        eval_batch_size: int,
        num_workers: int,
        val_fraction: float,
        split_seed: int,
        folds: int | None = None,
        fold: int | None = None,
        limit_train: int | None = None,
        limit_val: int | None = None,
        limit_test: int | None = None,
        pin_memory: bool | None = None,
        preprocessing: Any = None,
        task: str | None = None,
        label_names: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.name, self.source, self.preprocessing = name, source, preprocessing
        if task:
            self.task = task
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.val_fraction, self.split_seed = val_fraction, split_seed
        self.folds, self.fold = folds, fold
        self.limit_train, self.limit_val, self.limit_test = limit_train, limit_val, limit_test
        self.fixed_label_names = label_names  # a trained model's class order (eval, predict)
        self.label_names: list[str] = []
        self.datasets: dict[str, Dataset] = {}

    # -- subclasses ---------------------------------------------------------------------------
    def make_dataset(self, split: RawSplit, label_ids, indices, train: bool) -> Dataset:
        raise NotImplementedError

    def collate(self, samples: list) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    def sizes(self) -> dict[str, int]:
        return {f"n_{k}": len(v) for k, v in self.datasets.items()}

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        raw: dict[str, RawSplit] = self.source.load()
        if "train" not in raw:
            raise DataError(f"data source {type(self.source).__name__} gave no train split")
        # A source may fix the class order (e.g. Fashion-MNIST's published ids); else sorted names.
        self.label_names = list(
            self.fixed_label_names
            or getattr(self.source, "label_names", None)
            or label_vocabulary(raw["train"].labels)
        )
        to_id = {name: i for i, name in enumerate(self.label_names)}

        def ids(split: str) -> np.ndarray:
            unknown = {str(v) for v in raw[split].labels} - set(to_id)
            if unknown:
                raise DataError(
                    f"{split} split has labels not seen in train: {sorted(unknown)[:5]}"
                )
            return np.array([to_id[str(v)] for v in raw[split].labels], dtype=np.int64)

        train_ids = ids("train")
        idx = split_indices(
            train_ids,
            n_val_given=len(raw["val"].labels) if "val" in raw else None,
            val_fraction=self.val_fraction,
            split_seed=self.split_seed,
            folds=self.folds,
            fold=self.fold,
            limit_train=self.limit_train,
            limit_val=self.limit_val,
        )
        self.split_indices = idx
        val_split = "val" if idx.val_given else "train"
        self.datasets["train"] = self.make_dataset(raw["train"], train_ids, idx.train, train=True)
        self.datasets["val"] = self.make_dataset(
            raw[val_split], ids(val_split), idx.val, train=False
        )
        test_split = "test" if "test" in raw else None
        if test_split is None:
            raise DataError(
                f"data source {type(self.source).__name__} has no test split: give one (e.g. data.source.test=...)"
            )
        test_idx = np.arange(len(raw["test"].labels))
        if self.limit_test is not None:
            test_idx = test_idx[: self.limit_test]  # a prefix keeps test rows aligned across runs
        self.datasets["test"] = self.make_dataset(raw["test"], ids("test"), test_idx, train=False)

    def padded_fraction(self) -> float | None:
        """Share of padding among the tokens of the training batches (None: not a token task)."""
        return None

    def probe_batch(self, n: int = 8) -> dict[str, torch.Tensor]:
        """The first n validation examples as one batch (for FLOP counting)."""
        ds = self.datasets["val"]
        return self.collate([ds[i] for i in range(min(n, len(ds)))])

    def predict_loader(self, items: Sequence[Any]) -> DataLoader:
        """Batches for unlabeled items (texts, image paths), in order; labels are placeholders."""
        n = len(items)
        split = RawSplit(items=list(items), labels=[None] * n)
        self.datasets["predict"] = self.make_dataset(
            split, np.zeros(n, dtype=np.int64), np.arange(n), train=False
        )
        return self._loader("predict", self.eval_batch_size, shuffle=False)

    def _loader(self, split: str, batch_size: int, shuffle: bool, **kwargs) -> DataLoader:
        pin = torch.cuda.is_available() if self.pin_memory is None else self.pin_memory
        return DataLoader(
            self.datasets[split],
            batch_size=batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            pin_memory=pin,
            persistent_workers=self.num_workers > 0,
            **{"collate_fn": self.collate, **kwargs},
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", self.eval_batch_size, shuffle=False)
