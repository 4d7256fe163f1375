"""Measuring: step clocks, peak memory, model FLOPs and the machine's matmul ceiling."""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING

import numpy as np
import psutil
import torch
from torch import nn

if TYPE_CHECKING:
    from bakeoff.bench.model import MeanPoolClassifier


def sync_fn(device: str):
    return torch.cuda.synchronize if device == "cuda" else None


def autocast(opts):
    """bf16-mixed for the two loops that are not Lightning (Lightning does it from its config)."""
    enabled = opts.precision == "bf16-mixed"
    return torch.autocast(opts.device, dtype=torch.bfloat16, enabled=enabled)


class StepClock:
    """End-of-step time stamps. Throughput counts steps 2..N only, for every contender alike."""

    def __init__(self, steps: int, sync=None) -> None:
        self.start = time.perf_counter()
        self.steps, self.sync = steps, sync
        self.times: list[float] = []
        self.sizes: list[int] = []

    def tick(self, n_samples: int) -> None:
        # On a GPU the queue runs ahead of the host: wait for it at the two ends of the timed span.
        if self.sync is not None and len(self.times) in (0, self.steps - 1):
            self.sync()
        self.times.append(time.perf_counter())
        self.sizes.append(int(n_samples))

    @property
    def timed_s(self) -> float:
        return self.times[-1] - self.times[0] if len(self.times) > 1 else math.nan

    @property
    def samples_per_s(self) -> float:
        return sum(self.sizes[1:]) / self.timed_s if len(self.times) > 1 else math.nan

    @property
    def first_step_s(self) -> float:
        return self.times[0] - self.start if self.times else math.nan


class PeakRss:
    """Peak resident memory while a block runs, sampled every 20 ms.

    `ru_maxrss` is a peak over the process's life: useless when contenders share one process.
    """

    def __enter__(self) -> PeakRss:
        self._proc = psutil.Process()
        self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def mb(self) -> float:
        return self.peak / 2**20


def flop_spec(model: MeanPoolClassifier) -> tuple[int, int, int, int]:
    """(encoder Linear weights, layers, hidden size, head weights): what `train_flops` needs."""
    encoder = model.encoder
    linear = sum(m.weight.numel() for m in encoder.modules() if isinstance(m, nn.Linear))
    return (
        linear,
        encoder.config.num_hidden_layers,
        encoder.config.hidden_size,
        model.proj.weight.numel(),
    )


def train_flops(lengths, spec: tuple[int, int, int, int]) -> float:
    """Model FLOPs of one training step over sequences of these lengths.

    Forward: 2 per encoder Linear weight per token, QK^T and AV (4 * layers * hidden * n^2 per
    sequence), the head once per sequence; backward ~2x forward. Pass real lengths to count only
    real tokens.
    """
    linear, layers, hidden, head = spec
    n = np.asarray(lengths, dtype=np.float64)
    forward = 2 * linear * n.sum() + 4 * layers * hidden * (n**2).sum() + 2 * head * n.size
    return float(3 * forward)


def matmul_peak_flops(device: str, dtype: torch.dtype, seconds: float) -> float:
    """Best FLOP/s of square matmuls in short timed blocks: the kernel ceiling on this machine."""
    n = 8192 if device == "cuda" else 1024
    per_block = 20 if device == "cuda" else 4
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    sync = sync_fn(device) or (lambda: None)
    for _ in range(2):
        a @ b
    sync()
    best, deadline = 0.0, time.perf_counter() + seconds
    while True:
        tic = time.perf_counter()
        for _ in range(per_block):
            a @ b
        sync()
        best = max(best, per_block * 2 * n**3 / (time.perf_counter() - tic))
        if time.perf_counter() > deadline:
            return best


def padded_fraction(batches: list[list[int]], lengths: np.ndarray) -> float:
    """Padding tokens / all tokens when each batch is padded to its longest example."""
    real = sum(int(lengths[b].sum()) for b in batches)
    total = sum(int(lengths[b].max()) * len(b) for b in batches)
    return 1.0 - real / total if total else math.nan
