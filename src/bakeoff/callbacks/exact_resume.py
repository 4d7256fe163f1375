"""Exact resume: a run resumed from `last.ckpt` goes on as the uninterrupted run did.

- The random state travels in the checkpoint: `ExactResume.state_dict()` is called when a
  checkpoint is written (bakeoff's last.ckpt: at the end of a validated epoch) and holds
  Python's, NumPy's and torch's (CPU and CUDA) generators at that moment. A resumed run sets
  them back when its first epoch starts, after the checkpoint was restored and the sanity check
  ran: the epoch draws the same dropout masks as in the uninterrupted run. The data order does
  not depend on these states (the training sampler is seeded per epoch,
  bakeoff.data.samplers), nor does creating a DataLoader iterator (each loader has its own
  generator), so nothing else draws from them in between.
- The first batches are fetched again: Lightning builds the training iterator (and workers
  fetch its first batches) while it counts the run's steps, before the checkpoint is restored
  and the sampler told the resumed epoch, and a resumed epoch does not build it again; those
  batches would be epoch 0's. The resumed epoch's iterator is built anew once the epoch is set.

The states are stored as tensors and plain lists: checkpoints load with `weights_only=True`.
"""

from __future__ import annotations

import random
from typing import Any, cast

import lightning as L
import numpy as np
import torch


def collect() -> dict[str, Any]:
    numpy_state = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state())
    kind, keys, pos, has_gauss, cached = numpy_state
    version, internal, gauss_next = random.getstate()
    state = {
        "python": [version, list(internal), gauss_next],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore(state: dict[str, Any]) -> None:
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class ExactResume(L.Callback):
    """Saves the generators with each checkpoint; a resumed fit restores them and fetches its
    first epoch's batches in that epoch's order (module doc)."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        return collect()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._loaded = state_dict

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        loaded, self._loaded = self._loaded, None
        if not loaded:
            return
        fetcher = trainer.fit_loop._data_fetcher
        if fetcher is not None:
            iter(fetcher)  # this epoch's order (the sampler's epoch is set by now)
        restore(loaded)
