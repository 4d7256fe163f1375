"""Length-grouped batches: every example once per epoch, little padding, shards under DDP."""

from __future__ import annotations

import numpy as np
from torch.utils.data import DistributedSampler

from bakeoff.data.text import LengthGroupedBatchSampler, length_grouped_batches

RNG = np.random.default_rng(0)
LENGTHS = RNG.integers(5, 300, size=1000)


def padded_fraction(batches) -> float:
    real = sum(int(LENGTHS[b].sum()) for b in batches)
    return 1 - real / sum(int(LENGTHS[b].max()) * len(b) for b in batches)


def test_each_example_once_per_epoch_with_little_padding_and_a_new_order_each_epoch():
    sampler = length_grouped_batches(LENGTHS, batch_size=32, seed=3)
    first, second = list(sampler), list(sampler)
    for epoch in (first, second):
        assert sorted(i for b in epoch for i in b) == list(range(1000))
        assert len(epoch) == len(sampler) == 32  # ceil(1000 / 32)
    assert first != second
    random_batches = [list(range(i, min(i + 32, 1000))) for i in range(0, 1000, 32)]
    assert padded_fraction(first) < 0.05 < 0.3 < padded_fraction(random_batches)
    assert list(length_grouped_batches(LENGTHS, 32, seed=3)) == first  # same seed, same order


def test_distributed_shards_are_disjoint_and_equal_in_batches():
    """What Lightning builds under DDP: our batch sampler around its DistributedSampler."""
    shards = []
    for rank in (0, 1):
        dist = DistributedSampler(range(1000), num_replicas=2, rank=rank, shuffle=True, seed=5)
        shards.append(list(LengthGroupedBatchSampler(dist, 32, lengths=LENGTHS, seed=5)))
    ids = [{i for b in shard for i in b} for shard in shards]
    assert not ids[0] & ids[1] and ids[0] | ids[1] == set(range(1000))
    assert len(shards[0]) == len(shards[1]) == 16  # DDP needs the same step count per rank
