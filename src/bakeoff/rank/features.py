"""The frozen features of one backbone on the train and val splits, through the feature cache.

A backbone is built exactly as a run builds it (its config composed like `train.py`'s, checked by
`validate_config`, data read and split by the same DataModule, the backbone's own preprocessing),
then each split's pooled features come from the feature cache that `finetune=linear_probe` runs
use (models/feature_cache.py: the same key of weights, backbone config, precision and inputs, the
same files under `<cache root>/features/`): one forward pass per split, reused by every later
ranking and by probe runs of the same data. Images are read without augmentation (the train split
through the eval transform), so their features are deterministic and cacheable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from bakeoff.errors import ConfigError
from bakeoff.rank.scores import Split

log = logging.getLogger(__name__)

SPLITS = ("train", "val")


@dataclass
class BackboneFeatures:
    """What ranking one backbone needs: its splits' features and the facts the table shows."""

    model: str
    task: Any
    label_names: list[str]
    splits: dict[str, Split]
    params_total: int | None = None
    flops_per_sample: float | None = None
    n: dict[str, int] = field(default_factory=dict)
    build_s: float = 0.0  # data read + backbone built
    forward_s: float = 0.0  # the forward passes of the splits computed now (0 when all read)
    cache: str = "computed"  # "computed", "read" (every split from disk) or "partly read"


def forward_context(precision: str, device: torch.device):
    """The autocast a Trainer of this precision would run the forward under."""
    text = str(precision)
    if text.startswith("bf16"):
        return lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    if text.startswith("16"):
        return lambda: torch.autocast(device.type, dtype=torch.float16)
    return contextlib.nullcontext


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def deterministic_inputs(cfg: DictConfig) -> DictConfig:
    """The config with image augmentation off (features of the train split as evaluated)."""
    if "augment" in cfg.data and cfg.data.augment:
        cfg = cfg.copy()
        with open_dict(cfg):
            cfg.data.augment = False
    return cfg


def _facts_path(path: Path) -> Path:
    return path.with_suffix(".facts.json")


def _read_facts(path: Path | None) -> dict[str, Any] | None:
    if path is None or not _facts_path(path).is_file():
        return None
    try:
        return json.loads(_facts_path(path).read_text())
    except (OSError, ValueError):
        return None


def backbone_config_error(cfg: DictConfig) -> None:
    """A model with no backbone (a scikit-learn baseline) has nothing to rank: one line."""
    if cfg.model.get("backbone") is None:
        raise ConfigError(
            f"bakeoff-rank: model={cfg.model.name} is a scikit-learn baseline with no backbone: "
            "there are no features to score (rank backbones, e.g. model=minilm,mobilenetv2)"
        )


def backbone_features(
    cfg: DictConfig, cache_root: str | None, device: str = "auto"
) -> BackboneFeatures:
    """Build the run's data and backbone from `cfg`; features of train and val, cached.

    `cfg` is checked first (ranking.check_configs: validate_config, the task kind)."""
    from bakeoff.callbacks.measure import forward_flops_per_sample
    from bakeoff.models.feature_cache import (
        compute_features,
        features_key,
        inputs_digest,
        read_features,
        split_targets,
        weights_digest,
        write_features,
    )
    from bakeoff.runs.assembly import build_run_parts

    cfg = deterministic_inputs(cfg)
    tic = time.perf_counter()
    # Built as a run builds them (bakeoff.runs.assembly), after the same seed: a random-init
    # backbone gets the weights a run of the same seed gets, and the features the cache key of
    # that run's linear probe.
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    parts = build_run_parts(cfg)
    datamodule, module, backbone = parts.datamodule, parts.module, parts.backbone
    module.eval()
    dev = pick_device(device)
    root = Path(cache_root) / "features" if cache_root else None
    precision = str(cfg.trainer.precision)
    digest = weights_digest(backbone) if root else ""
    backbone_config = OmegaConf.to_container(cfg.model.backbone, resolve=True)
    build_s = time.perf_counter() - tic
    out = BackboneFeatures(
        model=cfg.model.name,
        task=module.task,
        label_names=list(datamodule.label_names),
        splits={},
        params_total=module.param_counts()["total"]
        - sum(p.numel() for p in module.head.parameters()),
        build_s=build_s,
    )
    read = 0
    first_path = None
    for split in SPLITS:
        dataset = datamodule.datasets[split]
        n = len(dataset)
        inputs = inputs_digest(dataset) if root else None
        path = (
            root / f"{features_key(digest, backbone_config, precision, inputs)}.pt"
            if inputs and root is not None
            else None
        )
        first_path = first_path or path
        values = read_features(path, n) if path is not None and path.exists() else None
        if values is None:
            module.to(dev)
            tic = time.perf_counter()
            values = compute_features(
                module, datamodule.eval_loader(split), n, forward_context(precision, dev)
            )
            out.forward_s += time.perf_counter() - tic
            if path is not None:
                write_features(path, values)
        else:
            read += 1
        targets = np.asarray(split_targets(dataset))
        out.splits[split] = Split(values.numpy(), targets)
        out.n[split] = n
    out.cache = "read" if read == len(SPLITS) else "computed" if read == 0 else "partly read"
    facts = _read_facts(first_path)
    if (
        facts is None
    ):  # FLOPs need a forward of a probe batch: counted once, kept beside the features
        module.to("cpu")
        facts = {"flops_per_sample": forward_flops_per_sample(module, datamodule.probe_batch())}
        if first_path is not None and first_path.exists():
            with contextlib.suppress(OSError):
                _facts_path(first_path).write_text(json.dumps(facts))
    out.flops_per_sample = facts.get("flops_per_sample")
    return out
