"""The training order, drawn from the run's seed and the epoch only.

Lightning calls `set_epoch` before every epoch; the order of epoch k is then the same whether
the run got there straight or was resumed from a checkpoint (exact resume): a sampler that
drew from a generator's running state, or from the global torch generator, would start afresh
after a resume. Outside Lightning the epoch advances by one per pass.
"""

from __future__ import annotations

import torch
from torch.utils.data import RandomSampler


class EpochRandomSampler(RandomSampler):
    """A random permutation of `range(n)` drawn from `seed + epoch`.

    A RandomSampler subclass, so that Lightning sees a shuffled loader (under DDP it swaps in a
    DistributedSampler with shuffle on, which is seeded per epoch as well).
    """

    def __init__(self, n: int, seed: int, epoch: int = 0) -> None:
        super().__init__(range(n))
        self.n, self.seed, self.epoch = n, int(seed), int(epoch)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self):
        epoch = self.epoch
        self.epoch += 1  # the next pass is the next epoch, unless set_epoch says otherwise
        generator = torch.Generator().manual_seed(self.seed + epoch)
        yield from torch.randperm(self.n, generator=generator).tolist()

    def __len__(self) -> int:
        return self.n


def loader_generator() -> torch.Generator:
    """A DataLoader's own generator (its workers' base seed), from the run's seed: creating an
    iterator then draws nothing from the global torch generator, which dropout uses."""
    return torch.Generator().manual_seed(torch.initial_seed() % 2**63)
