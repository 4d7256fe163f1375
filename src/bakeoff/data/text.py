"""Text batches: tokenise once, pad each batch only to its own longest example.

Texts are strings, (text, text_pair) tuples, or lists of words for word-level tasks (NER), whose
targets the task aligns to the tokens through the tokenizer's word ids.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    Sampler,
)

from bakeoff.data.base import TaskData
from bakeoff.data.raw import RawSplit
from bakeoff.data.token_cache import tokenize
from bakeoff.errors import DataError

# Whole splits are tokenized once, in setup, by the Rust tokenizer's threads (0.6 s -> 0.35 s for
# 4000 reviews on 2 cores). DataLoader workers fork later but only pad, never tokenize, so its
# thread pool is never used in a child; set explicitly, because unset it warns on every fork.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")


class TokenizedDataset(Dataset):
    def __init__(self, encodings: dict[str, list[list[int]]], targets: list):
        self.encodings, self.targets = encodings, targets
        self.lengths = np.array([len(ids) for ids in encodings["input_ids"]])

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        return {k: v[i] for k, v in self.encodings.items()}, self.targets[i], i


class LengthGroupedBatchSampler(BatchSampler):
    """Shuffled batches of similar length: less padding, still random order.

    The examples come in the order `sampler` gives (a seeded RandomSampler; under DDP, Lightning
    swaps in a DistributedSampler, so each rank buckets its own shard and all ranks get the same
    number of batches). They are cut into chunks of `batch_size * bucket_batches`, each chunk is
    sorted by length and cut into batches, and the batches are shuffled again with
    `seed + epoch`, so the order is reproducible for a given run seed and differs between epochs.
    A `BatchSampler` subclass taking `sampler` first, which is what lets Lightning inject its
    distributed sampler.
    """

    def __init__(
        self,
        sampler: Sampler[int],
        batch_size: int,
        drop_last: bool = False,
        lengths: Sequence[int] = (),
        seed: int = 0,
        bucket_batches: int = 50,
    ):
        super().__init__(sampler, batch_size, drop_last)
        self.lengths = np.asarray(lengths)
        self.seed, self.bucket = seed, batch_size * bucket_batches
        self.epoch = 0

    def __iter__(self):
        # The sampler's epoch where it has one (Lightning sets it before each epoch): the same
        # batches in a resumed run as in the uninterrupted one.
        epoch = getattr(self.sampler, "epoch", self.epoch)
        rng = np.random.default_rng(self.seed + epoch)
        self.epoch = epoch + 1
        order = np.fromiter(iter(self.sampler), dtype=np.int64)
        batches = []
        for start in range(0, len(order), self.bucket):
            chunk = order[start : start + self.bucket]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [
                chunk[i : i + self.batch_size].tolist()
                for i in range(0, len(chunk), self.batch_size)
            ]
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        for b in rng.permutation(len(batches)):
            yield batches[b]

    def __len__(self) -> int:
        # Chunks hold whole batches except the last, so bucketing adds no partial batch.
        n = len(self.sampler)  # type: ignore[arg-type]  # a list of indices or a Sampler: sized
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def length_grouped_batches(lengths, batch_size: int, seed: int) -> LengthGroupedBatchSampler:
    """The length-grouped batch sampler over a whole split, shuffled with `seed`."""
    from bakeoff.data.samplers import EpochRandomSampler

    order = EpochRandomSampler(len(lengths), seed)
    return LengthGroupedBatchSampler(order, batch_size, lengths=lengths, seed=seed)


class TextData(TaskData):
    modality = "text"  # which backbones can take its batches (Backbone.modality)
    _real_tokens: torch.Tensor | int  # `count_padding`'s running sums (see `tokens`)
    _all_tokens: int

    def __init__(
        self,
        *args,
        max_length: int | None = 128,
        group_by_length: bool = False,
        cache_dir: str | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.max_length, self.group_by_length = max_length, group_by_length
        self.cache_dir = cache_dir  # tokenized splits on disk (None: tokenize every time)
        self.cached_splits = 0  # how many splits came from the cache (for results.json)
        self.tokens = {"real": 0, "padded": 0}  # `count_padding`: the padded-token fraction

    @property
    def read_cache_dir(self) -> str | None:
        return self.cache_dir  # the parsed tables and the drawn split, beside the tokens

    # The backbone's tokenizer, from `preprocessing`: given when the DataModule is built, or set
    # after `read()` (a run reads and checks its data before any weights load).
    @property
    def tokenizer(self):
        if self.preprocessing is None:
            raise DataError(f"data '{self.name}' needs the backbone's tokenizer: none was given")
        return self.preprocessing.tokenizer

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return pad if pad is not None else 0

    @property
    def fill(self) -> dict[str, int]:
        return {"input_ids": self.pad_id, "word_ids": -1}  # padding value per key (else 0)

    def make_dataset(self, split: RawSplit, targets, indices, train: bool) -> Dataset:
        items = [split.items[int(i)] for i in indices]
        pairs = isinstance(items[0], tuple) if items else False
        texts = [it[0] for it in items] if pairs else items
        second = [it[1] for it in items] if pairs else None
        words = self.task.word_level
        enc, cached = tokenize(
            self.tokenizer, texts, second, self.max_length, self.cache_dir, words=words
        )
        self.cached_splits += cached
        targets = [targets[int(i)] for i in indices]
        if words:
            targets = [self.task.align(t, w) for t, w in zip(targets, enc["word_ids"], strict=True)]
        return TokenizedDataset(enc, targets)

    def collate(self, samples: list) -> dict[str, torch.Tensor]:
        width = max(len(enc["input_ids"]) for enc, _, _ in samples)
        batch: dict[str, torch.Tensor] = {}
        for key in samples[0][0]:
            fill = self.fill.get(key, 0)
            rows = [enc[key] + [fill] * (width - len(enc[key])) for enc, _, _ in samples]
            batch[key] = torch.tensor(rows, dtype=torch.long)
        batch |= self.task.label_batch([target for _, target, _ in samples], width)
        batch["index"] = torch.tensor([i for _, _, i in samples], dtype=torch.long)
        return batch

    def on_before_batch_transfer(self, batch, dataloader_idx: int):
        """In the main process, before the batch moves to the device: a training batch's tokens
        are counted here, on arrival (a loader worker collates into its own copy of this module,
        so counting there would be lost with it)."""
        trainer = self.trainer
        if trainer is not None and trainer.training:
            self.count_padding(batch)
        return batch

    def count_padding(self, batch) -> None:
        """The one place the padded-token fraction is counted: real and padded tokens of a
        collated training batch, from its attention mask (on the CPU). The real count is kept
        as a tensor sum, read once when `tokens` is asked for, not once per step."""
        if isinstance(batch, dict) and "attention_mask" in batch:
            mask = batch["attention_mask"]
            self._real_tokens = mask.sum() + self._real_tokens
            self._all_tokens += mask.numel()

    @property
    def tokens(self) -> dict[str, int]:
        """Real and padded training tokens counted so far (`count_padding`)."""
        real = int(self._real_tokens)
        return {"real": real, "padded": self._all_tokens - real}

    @tokens.setter
    def tokens(self, counts: dict[str, int]) -> None:
        self._real_tokens = counts["real"]
        self._all_tokens = counts["real"] + counts["padded"]

    def padded_fraction(self) -> float | None:
        counts = self.tokens
        total = counts["real"] + counts["padded"]
        return counts["padded"] / total if total else None

    def eval_loader(self, split: str) -> DataLoader:
        # Longest first, similar lengths together: less padding. Order does not change the
        # metrics, and predictions carry their example index.
        order = np.argsort(-self.datasets[split].lengths, kind="stable").tolist()
        return self._loader(split, self.eval_batch_size, shuffle=False, sampler=order)

    def _train_batches(self):
        batches = super()._train_batches()  # fixed batches, where set, come first
        if batches is not None or not self.group_by_length:
            return batches
        return length_grouped_batches(
            self.datasets["train"].lengths, self.batch_size, seed=torch.initial_seed() % 2**31
        )
