"""Linear probes on cached features: a backbone frozen for the whole run runs once per split.

When no backbone layer group trains in any epoch of the run (`finetune=linear_probe`, or a
schedule whose first unfreeze lies past `trainer.max_epochs`) and every split's inputs are
deterministic (text; images with `data.augment=false`), the backbone's pooled features cannot
change between epochs. `FeatureCache` computes them once per split at fit setup (backbone in eval
mode, no gradients, the trainer's precision), and the DataModule then serves batches of
`{"features", "labels", "index"}` in place of the inputs: the same batches, order and seeds, and
the same Lightning loop, metrics, record, predictions and checkpoint (which still holds the whole
model, so eval and predict run the backbone as ever). The head trains on the features as it
would on the backbone's output (`TaskModule.forward`).

Features are kept on disk under `<data.cache_dir>/features/`, like the token cache, keyed by
everything they depend on: the backbone's weights and config, the precision and the split's
inputs (token ids, or image items and the transform), so a sweep over seeds or head settings
runs the backbone once. Files are written whole and renamed into place (parallel jobs at worst
compute twice). A frozen backbone also stays in eval mode while the head trains (no dropout in
it), so the cached and uncached paths give the same features.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import lightning as L
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

if TYPE_CHECKING:
    from bakeoff.models.module import TaskModule

log = logging.getLogger(__name__)

FORMAT = "bakeoff-features-2"  # 2: sealed files (key + checksum). Bump when the file layout or the way features are made changes


def frozen_for_run(strategy, n_groups: int, max_epochs: int | None) -> bool:
    """Does no backbone group train in any epoch of the run? Strategies only ever unfreeze, so
    with no epoch limit the final state (`trainable` far in the future) decides."""
    unlimited = max_epochs is None or max_epochs < 0
    epochs = [2**31] if max_epochs is None or unlimited else range(max(max_epochs, 1))
    return not any(any(strategy.trainable(e, n_groups)) for e in epochs)


class FeatureDataset(Dataset):
    """A split's pooled features with its targets, yielding (features, target, position)."""

    def __init__(self, features: Tensor, targets: list, task) -> None:
        if len(features) != len(targets):
            raise ValueError(f"{len(features)} feature rows for {len(targets)} targets")
        self.features, self.targets, self.task = features, targets, task

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        return self.features[i], self.targets[i], i

    def collate(self, samples: list) -> dict[str, Tensor]:
        features, targets, index = zip(*samples, strict=True)
        return {
            "features": torch.stack(features),
            **self.task.label_batch(list(targets), None),
            "index": torch.tensor(index, dtype=torch.long),
        }


def split_targets(dataset: Any) -> list:
    """A split's targets by position, read without loading its inputs (images are not decoded)."""
    indices = getattr(dataset, "indices", None)
    if indices is not None:  # IndexedDataset: a view of `targets` at `indices`
        return [dataset.targets[int(j)] for j in indices]
    return list(dataset.targets)


# -- keys ---------------------------------------------------------------------------------------
def weights_digest(module: torch.nn.Module) -> str:
    """Digest of a module's parameters and buffers (names, dtypes, shapes, values)."""
    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        t = t.detach().cpu().contiguous()
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _item_bytes(item: Any) -> bytes:
    if isinstance(item, np.ndarray):
        return f"{item.dtype}{item.shape}".encode() + item.tobytes()
    if isinstance(item, (str, os.PathLike)) and os.path.isfile(item):
        st = os.stat(item)  # a file rewritten in place gets a new key
        return f"{os.fspath(item)}\0{st.st_size}\0{st.st_mtime_ns}".encode()
    return repr(item).encode()


def inputs_digest(dataset: Dataset) -> str | None:
    """Digest of what a split feeds the backbone; None when it cannot be fingerprinted (its
    features then live in memory for this run only)."""
    h = hashlib.sha256()
    encodings = getattr(dataset, "encodings", None)
    if encodings is not None:  # tokenized text: the ids already depend on tokenizer and max_length
        for key in sorted(encodings):
            rows = encodings[key]
            h.update(f"{key}\0{len(rows)}\0".encode())
            h.update(np.fromiter(map(len, rows), dtype=np.int64, count=len(rows)).tobytes())
            flat = np.fromiter((t for row in rows for t in row), dtype=np.int64)
            h.update(flat.tobytes())
        return h.hexdigest()
    items, indices = getattr(dataset, "items", None), getattr(dataset, "indices", None)
    if items is None or indices is None:
        return None
    h.update(repr(getattr(dataset, "transform", None)).encode() + b"\0")
    for j in indices:
        h.update(_item_bytes(items[int(j)]) + b"\x1f")
    return h.hexdigest()


def features_key(backbone_digest: str, backbone_config: Any, precision: str, inputs: str) -> str:
    h = hashlib.sha256()
    config = json.dumps(backbone_config, sort_keys=True, default=str)
    for part in (FORMAT, backbone_digest, config, precision, inputs):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:32]


# -- disk ---------------------------------------------------------------------------------------
def read_features(path: Path, n: int) -> Tensor | None:
    """The features kept at `path` (named by their key), or None after one warning naming the
    file (bakeoff.utils.sealed: key and checksum checked first)."""
    from bakeoff.utils.sealed import read_sealed

    def parse(payload: bytes) -> Tensor:
        features = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
        if not isinstance(features, Tensor) or features.ndim != 2 or len(features) != n:
            raise ValueError(f"not a table of {n} feature rows")
        return features

    return read_sealed(path, path.stem, "feature cache", parse)


def write_features(path: Path, features: Tensor) -> None:
    from bakeoff.utils.sealed import write_sealed

    buf = io.BytesIO()
    torch.save(features, buf)
    write_sealed(path, path.stem, buf.getvalue(), "feature cache")


# -- computing ----------------------------------------------------------------------------------
@torch.no_grad()  # not inference_mode: the head's backward saves these features
def compute_features(module, loader, n: int, forward_context) -> Tensor:
    """Pooled features of every example of a split, in split order (rows by `index`)."""
    out: Tensor | None = None
    for batch in loader:
        batch = {k: v.to(module.device, non_blocking=True) for k, v in batch.items()}
        with forward_context():
            features = module.task.features(module.backbone, batch)
        if out is None:
            out = torch.empty(n, features.shape[-1], dtype=torch.float32, device=module.device)
        out[batch["index"]] = features.float()
    if out is None:
        raise ValueError("a split without examples has no features")
    return out.cpu()


def why_not_cached(module, datamodule) -> str | None:
    """None when the run can train on cached features, else the reason it cannot."""
    if not module.strategy.cache_features:
        return "finetune.cache_features=false"
    from bakeoff.tasks.base import Task

    if type(module.task).features is not Task.features:
        return f"task {module.task.name} reads per-token features"
    if not hasattr(datamodule, "features"):
        return f"{type(datamodule).__name__} cannot serve features"
    if getattr(datamodule, "augment", False):
        return "data.augment=true: the training images change every epoch (set data.augment=false)"
    from bakeoff.models.finetune import has_batchnorm

    if module.strategy.train_bn and has_batchnorm(module.backbone):
        return "finetune.train_bn=true: BatchNorm's batch statistics change the features each step"
    return None


class FeatureCache(L.Callback):
    """At fit setup, when the backbone is frozen for the whole run: its features, once per split.

    Added by `TaskModule.configure_callbacks`; does nothing when a backbone group trains at some
    epoch. Sets `module.backbone_frozen` (the backbone then stays in eval mode) and the
    DataModule's `features` (what its loaders serve); `status` says what happened
    ("computed", "read": from disk, or None: not cached).
    """

    def __init__(self) -> None:
        self.status: str | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        pl_module = cast("TaskModule", pl_module)
        # At setup, not at fit start: the optimizer's step count (estimated_stepping_batches)
        # already builds the train loader that fit then uses, before on_fit_start.
        if stage != "fit":
            return
        n_groups = len(pl_module.backbone_groups)
        if not frozen_for_run(pl_module.strategy, n_groups, trainer.max_epochs):
            return
        pl_module.backbone_frozen = True
        pl_module.train(pl_module.training)  # the backbone to eval mode
        # Lightning warns about modules in eval mode at the start of training: here, by design.
        warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode")
        datamodule: Any = trainer.datamodule  # type: ignore[attr-defined]  # Lightning sets it
        if hasattr(datamodule, "features"):
            datamodule.features = {}  # an earlier fit's features: its loaders serve inputs again
        reason = why_not_cached(pl_module, datamodule)
        if reason is not None:
            log.info("backbone frozen for the run; features not cached: %s", reason)
            return
        cache_dir = getattr(datamodule, "cache_dir", None)
        root = Path(cache_dir) / "features" if cache_dir else None
        digest = weights_digest(pl_module.backbone) if root else ""
        backbone_config = pl_module.hparams["model"].get("backbone")
        precision = str(trainer.precision)
        read = computed = 0
        features = {}
        for split, dataset in datamodule.datasets.items():
            if split == "predict":
                continue
            n = len(dataset)
            inputs = inputs_digest(dataset) if root else None
            path = None
            if inputs is not None and root is not None:
                path = root / f"{features_key(digest, backbone_config, precision, inputs)}.pt"
            values = read_features(path, n) if path is not None and path.exists() else None
            if values is None:
                # The strategy moves the module to its device only after setup: here, for this.
                pl_module.to(trainer.strategy.root_device)
                loader = datamodule.eval_loader(split)
                context = trainer.precision_plugin.forward_context
                values = compute_features(pl_module, loader, n, context)
                computed += 1
                if path is not None and trainer.is_global_zero:
                    write_features(path, values)
            else:
                read += 1
            features[split] = FeatureDataset(values, split_targets(dataset), pl_module.task)
        datamodule.features = features
        self.status = "computed" if computed else "read"
        pl_module.feature_cache_status = self.status
        log.info(
            "backbone frozen for the run: the head trains on cached features "
            "(%d splits computed, %d read from %s)",
            computed,
            read,
            root or "memory",
        )
