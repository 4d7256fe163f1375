"""Checkpoints written atomically into their own folder, with the normal file mode.

Lightning's `TorchCheckpointIO` writes through an fsspec transaction whose temporary file lives
in the system temp dir: on another file system the final move is a copy, and a kill during it
leaves half a `last.ckpt` that `resume=true` would then load. Here the file is written beside its
target and renamed over it (bakeoff.utils.atomic); remote URLs (s3://, gs://) keep Lightning's way.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from bakeoff.utils.atomic import atomic_path


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or "://" in str(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)
