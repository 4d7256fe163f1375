"""What text and image data have in common: labels, splits, loaders.

A *source* (see `sources.py`) says where examples come from and returns raw splits; the
DataModule turns them into index sets (`splits.py`) and batches the backbone can eat
(subclasses: `text.py`, `image.py`). The *task* (injected, see `bakeoff.tasks`) turns raw labels
into targets and batches of them, and says what the split is stratified on. Batches are dicts
with `labels` and `index` (the example's position in its split, so test predictions can be
paired across runs). Extra validation splits (`val_<name>`, e.g. MNLI's mismatched set) are
validated beside `val`; `val` is the one the monitored metric reads. The raw types (`RawSplit`,
`LabelError`) live in `raw.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from bakeoff.data.raw import (
    BAD_ROW_POLICIES,
    BAD_ROW_REASONS,
    LabelError,
    RawSplit,
    check_word_labels,
)
from bakeoff.data.splits import split_indices
from bakeoff.errors import ConfigError, DataError

log = logging.getLogger(__name__)


class IndexedDataset(Dataset):
    """A view of `items` at `indices`, yielding (item, target, position in this split)."""

    def __init__(self, items, targets: Sequence[Any], indices: np.ndarray, transform=None):
        self.items, self.targets, self.indices, self.transform = (
            items,
            targets,
            indices,
            transform,
        )

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        j = int(self.indices[i])
        item = self.items[j]
        return (self.transform(item) if self.transform else item), self.targets[j], i


def batch_size_problems(batch_size: Any, eval_batch_size: Any) -> list[str]:
    """The one check of the batch sizes: the constructor raises the first, the config check
    (bakeoff.checks.validate) lists them all before anything loads."""
    return [
        f"data.{key}: {value!r} is not a batch size (an integer >= 1)"
        for key, value in (("batch_size", batch_size), ("eval_batch_size", eval_batch_size))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1
    ]


class TaskData(L.LightningDataModule):
    modality = ""  # "text" | "image" in subclasses: which backbones take its batches

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
        task: Any = None,
        label_names: list[str] | None = None,
        on_bad_rows: str = "drop",
    ) -> None:
        super().__init__()
        if task is None:
            raise DataError(f"data '{name}' needs its task (bakeoff.tasks): none was given")
        for problem in batch_size_problems(batch_size, eval_batch_size):
            raise ConfigError(problem)
        if on_bad_rows not in BAD_ROW_POLICIES:
            raise ConfigError(
                f"data.on_bad_rows='{on_bad_rows}' is not one of {', '.join(BAD_ROW_POLICIES)}"
            )
        self.on_bad_rows = on_bad_rows
        # split -> reason -> rows dropped (recorded in results.json as data.bad_rows)
        self.bad_rows: dict[str, dict[str, int]] = {}
        self.raw: dict[str, RawSplit] | None = None
        self.name, self.source, self.preprocessing, self.task = name, source, preprocessing, task
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.val_fraction, self.split_seed = val_fraction, split_seed
        self.folds, self.fold = folds, fold
        self.limit_train, self.limit_val, self.limit_test = limit_train, limit_val, limit_test
        self.fixed_label_names = label_names  # a trained model's class order (eval, predict)
        self.label_names: list[str] = []
        self.datasets: dict[str, Any] = {}  # the Dataset type make_dataset makes
        # A frozen backbone's pooled features per split: when set (models/feature_cache.py), the
        # loaders serve these in the same batches and order instead of the inputs.
        self.features: dict[str, Any] = {}
        # Set by `fix_train_batches`: the train loader serves these index batches, in order.
        self.fixed_train_batches: list[list[int]] | None = None

    # -- subclasses ---------------------------------------------------------------------------
    def make_dataset(self, split: RawSplit, targets, indices, train: bool) -> Any:
        """The split's Dataset (a subclass's own type: `datasets` holds what this returns)."""
        raise NotImplementedError

    def collate(self, samples: list) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def val_sets(self) -> list[str]:
        """The validation splits, `val` first (the monitored one)."""
        return [k for k in self.datasets if k == "val" or k.startswith("val_")]

    def sizes(self) -> dict[str, int]:
        return {f"n_{k}": len(v) for k, v in self.datasets.items()}

    def read(self) -> dict[str, RawSplit]:
        """Read every split, check it, encode its labels and choose the train/val examples:
        all without the backbone's preprocessing, so a run can call it before weights load.

        Everything that can be wrong with the data itself fails here, as one DataError naming
        the file: a missing split, rows without a label or text under `on_bad_rows=error`, a
        split left empty, items the task cannot take, fewer than two classes, val/test classes
        the train split lacks, too few rows for the hold-out or folds. Idempotent.
        """
        if self.raw is not None:
            return self.raw
        raw: dict[str, RawSplit] = self._load_splits()
        for split in ("train", "test"):
            if split not in raw:
                raise DataError(
                    f"data source {type(self.source).__name__} gave no {split} split"
                    + (
                        ": give one (data.source.test=...), or hold out a share of train "
                        "(data.source.test_fraction=0.2)"
                        if split == "test"
                        else ""
                    )
                )
        for split, part in raw.items():
            self._handle_bad_rows(split, part)
            self.task.check_items(part.items, f"the {split} split")
            if self.task.word_level:
                check_word_labels(part)
        # A source may fix the class order (e.g. Fashion-MNIST's published ids); a checkpoint
        # fixes its own; else the task derives it from the train labels.
        try:
            self.label_names = self.task.label_names(
                raw["train"].labels,
                self.fixed_label_names or getattr(self.source, "label_names", None),
            )
        except DataError as err:  # e.g. one class only: say which file
            raise DataError(f"{raw['train'].path or 'the train split'}: {err}") from None
        self.targets = self._targets(raw)
        self.split_indices = self._split(raw, self.targets["train"])
        self.raw = raw
        return raw

    @property
    def read_cache_dir(self) -> str | None:
        """Where parsed splits and drawn train/val indices are kept between jobs (None: nowhere)."""
        return None

    def _load_splits(self) -> dict[str, RawSplit]:
        from bakeoff.data.read_cache import load_splits

        return load_splits(self.source, self.read_cache_dir)

    def _handle_bad_rows(self, split: str, part: RawSplit) -> None:
        """Count (and log) or refuse the rows the source could not use; an emptied split fails."""
        where = part.path or f"the {split} split"
        if part.dropped:
            counts = {reason: len(rows) for reason, rows in part.dropped.items()}
            self.bad_rows[split] = counts
            what = " and ".join(
                f"{n} row(s) {BAD_ROW_REASONS.get(reason, reason)} "
                f"({', '.join(part.dropped[reason][:3])}{', ...' if n > 3 else ''})"
                for reason, n in counts.items()
            )
            if self.on_bad_rows == "error":
                raise DataError(
                    f"{where}: {what}; data.on_bad_rows=error refuses them "
                    "(fix the file, or data.on_bad_rows=drop skips and counts them)"
                )
            log.warning("%s: dropped %s; data.on_bad_rows=error makes this an error", where, what)
        if len(part.labels) == 0:
            dropped = ", ".join(f"{n} {r}" for r, n in self.bad_rows.get(split, {}).items())
            reasons = f": every row was dropped ({dropped})" if dropped else ""
            raise DataError(f"{where}: the {split} split has no usable rows{reasons}")

    def _targets(self, raw: dict[str, RawSplit]) -> dict[str, list]:
        """Each split's labels as the task's targets; a label the task rejects names its line."""
        out = {}
        for split, part in raw.items():
            try:
                out[split] = self.task.encode(part.labels, self.label_names, f"the {split} split")
            except LabelError as err:
                raise DataError(f"{part.locate(err.example, err.token)}: {err.message}") from None
            except DataError as err:  # e.g. classes the train split never has: say which file
                raise DataError(f"{part.path or f'the {split} split'}: {err}") from None
        return out

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        raw = self.read()
        targets, idx = self.targets, self.split_indices
        val_split = "val" if idx.val_given else "train"
        self.datasets["train"] = self.make_dataset(
            raw["train"], targets["train"], idx.train, train=True
        )
        self.datasets["val"] = self.make_dataset(
            raw[val_split], targets[val_split], idx.val, train=False
        )
        for split in sorted(k for k in raw if k.startswith("val_")):
            self.datasets[split] = self.make_dataset(
                raw[split], targets[split], self._prefix(raw[split], self.limit_val), train=False
            )
        self.datasets["test"] = self.make_dataset(
            raw["test"], targets["test"], self._prefix(raw["test"], self.limit_test), train=False
        )

    def _split(self, raw: dict[str, RawSplit], train_targets: list) -> Any:
        """Train/val indices; a train split too small for the requested hold-out or folds is
        a DataError naming the file and the keys, not scikit-learn's ValueError."""
        n = len(train_targets)
        try:
            idx = split_indices(
                self.task.stratify(train_targets),
                n_val_given=len(raw["val"].labels) if "val" in raw else None,
                val_fraction=self.val_fraction,
                split_seed=self.split_seed,
                folds=self.folds,
                fold=self.fold,
                limit_train=self.limit_train,
                limit_val=self.limit_val,
                n_train=n,
                cache_dir=self.read_cache_dir,
            )
        except ValueError as err:
            asked = (
                f"data.folds={self.folds}"
                if self.folds
                else f"data.val_fraction={self.val_fraction}"
            )
            raise DataError(
                f"{raw['train'].path or 'the train split'}: {n} rows are too few for {asked} "
                f"({err}); give a validation file (data.source.val=...), more rows, or "
                "another data.val_fraction / data.folds"
            ) from None
        if len(idx.train) == 0 or len(idx.val) == 0:
            empty = "train" if len(idx.train) == 0 else "val"
            raise DataError(
                f"{raw['train'].path or 'the train split'}: {n} rows leave the {empty} split empty "
                "(data.val_fraction, data.limit_train / limit_val): give more rows or a "
                "validation file (data.source.val=...)"
            )
        if len(idx.train) < self.batch_size:
            log.warning(
                "the train split has %d examples, fewer than data.batch_size=%d: one partial "
                "batch per epoch",
                len(idx.train),
                self.batch_size,
            )
        return idx

    @staticmethod
    def _prefix(split: RawSplit, limit: int | None) -> np.ndarray:
        # a prefix keeps evaluation rows aligned across runs
        idx = np.arange(len(split.labels))
        return idx if limit is None else idx[:limit]

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
        if self.task.word_level:  # a word-level target is one per word, a placeholder too
            placeholders = [[self.task.placeholder()] * len(item) for item in items]
        else:
            placeholders = [self.task.placeholder() for _ in range(n)]
        self.datasets["predict"] = self.make_dataset(split, placeholders, np.arange(n), train=False)
        return self._loader("predict", self.eval_batch_size, shuffle=False)

    def _loader(self, split: str, batch_size: int, shuffle: bool, **kwargs) -> DataLoader:
        pin = torch.cuda.is_available() if self.pin_memory is None else self.pin_memory
        dataset, collate = self.datasets[split], kwargs.pop("collate_fn", self.collate)
        if split in self.features:
            dataset, collate = self.features[split], self.features[split].collate
        from bakeoff.data.samplers import EpochRandomSampler, loader_generator

        if shuffle:  # an order drawn from the run's seed and the epoch: exact after a resume
            kwargs["sampler"] = EpochRandomSampler(len(dataset), torch.initial_seed() % 2**31)

        return DataLoader(
            dataset,
            batch_size=batch_size,
            num_workers=self.num_workers,
            generator=loader_generator(),
            pin_memory=pin,
            persistent_workers=self.num_workers > 0,
            collate_fn=collate,
            **kwargs,
        )

    def fix_train_batches(self, batches: Iterable[Iterable[int]] | None) -> None:
        """Make `train_dataloader()` serve exactly these batches, in this order, every epoch.

        `batches` holds positions in the train split (`datasets["train"]`), one list per batch;
        None goes back to the usual shuffled (or length-grouped) batches. The batches are
        collated and counted as training batches always are (a text module counts their real and
        padded tokens on arrival). A fixed batch order is what benchmarks need that compare
        training loops on identical batches (scripts/bench.py), and what reproducing another
        run's batch order needs. One process only: under DDP Lightning cannot shard a list of
        batches, and says so.
        """
        self.fixed_train_batches = (
            None if batches is None else [[int(i) for i in batch] for batch in batches]
        )

    def _train_batches(self) -> Iterable[list[int]] | None:
        """The training batches, where they are not plain shuffled ones (None)."""
        return self.fixed_train_batches

    def train_dataloader(self) -> DataLoader:
        batches = self._train_batches()
        if batches is None:
            return self._loader("train", self.batch_size, shuffle=True)
        return self._loader(
            "train",
            batch_size=1,
            shuffle=False,
            batch_sampler=batches,
        )

    def eval_loader(self, split: str) -> DataLoader:
        return self._loader(split, self.eval_batch_size, shuffle=False)

    def val_dataloader(self) -> DataLoader | list[DataLoader]:
        loaders = [self.eval_loader(split) for split in self.val_sets]
        return loaders[0] if len(loaders) == 1 else loaders

    def test_dataloader(self) -> DataLoader:
        return self.eval_loader("test")
