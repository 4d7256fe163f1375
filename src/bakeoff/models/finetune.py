"""Named fine-tuning strategies: which backbone layer groups train at which epoch, and at what LR.

A strategy is pure policy (no module state): `trainable(epoch, n)` says, for the n backbone layer
groups ordered bottom -> top, which ones train in that epoch; `lr_scale(i, n)` gives group i's
learning-rate multiplier (layer-wise decay, lower LR for groups unfrozen later). Because the state
is a function of the epoch, resuming from a checkpoint restores it exactly (Lightning's
BackboneFinetuning loses it: PL#21901).

`FreezeSchedule` is the callback applying the policy. The optimizer gets every group from the start
(frozen ones simply have no gradient), so schedulers see all of them.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, cast

import lightning as L
from torch import nn

if TYPE_CHECKING:
    from bakeoff.models.module import TaskModule

log = logging.getLogger(__name__)


class FinetuneStrategy:
    """Which backbone layer groups train at each epoch, and their LR scale. Its options are
    checked once, by the config check (bakeoff.checks.validate.check_finetune), before a run builds it."""

    def __init__(
        self,
        name: str,
        unfreeze_at_epoch: int | None = None,
        milestones: list[int] | None = None,
        groups_per_step: int | None = None,
        unfreeze_lr_factor: float = 1.0,
        layer_decay: float = 1.0,
        train_bn: bool = False,
        cache_features: bool = True,
        head_lr: float | None = None,
    ) -> None:
        self.name = name
        self.unfreeze_at_epoch = unfreeze_at_epoch
        self.milestones = sorted(milestones or [])
        self.groups_per_step = groups_per_step
        self.unfreeze_lr_factor = unfreeze_lr_factor
        self.layer_decay = layer_decay
        self.train_bn = train_bn
        self.cache_features = cache_features  # read by models/feature_cache.py
        self.head_lr = head_lr  # the strategy's own head LR (linear_probe), else optim.head_lr

    def trainable(self, epoch: int, n: int) -> list[bool]:
        raise NotImplementedError

    def lr_scale(self, i: int, n: int) -> float:
        """Top group gets 1.0, each group below `layer_decay` times the one above it."""
        scale = self.layer_decay ** (n - 1 - i)
        if not self.trainable(0, n)[i]:
            scale *= self.unfreeze_lr_factor
        return scale


class Full(FinetuneStrategy):
    """Every layer trains from the first step (combine with layer_decay < 1 for LLRD)."""

    def trainable(self, epoch: int, n: int) -> list[bool]:
        return [True] * n


class LinearProbe(FinetuneStrategy):
    """Backbone frozen for the whole run (BatchNorm in eval); only the head trains."""

    def trainable(self, epoch: int, n: int) -> list[bool]:
        return [False] * n


class FreezeUnfreeze(FinetuneStrategy):
    """Head only until `unfreeze_at_epoch`, then the whole backbone (at `unfreeze_lr_factor` x LR)."""

    def __init__(self, name: str, unfreeze_at_epoch: int | None = None, **kwargs) -> None:
        super().__init__(name, unfreeze_at_epoch=unfreeze_at_epoch, **kwargs)

    def trainable(self, epoch: int, n: int) -> list[bool]:
        at = self.unfreeze_at_epoch
        assert at is not None  # checks.validate requires it for freeze_unfreeze
        return [epoch >= at] * n


class Gradual(FinetuneStrategy):
    """Unfreeze layer groups top-down, `groups_per_step` more at each milestone epoch.

    With `groups_per_step: null` the groups are spread so that the last milestone unfreezes all.
    """

    def __init__(self, name: str, milestones: list[int] | None = None, **kwargs) -> None:
        super().__init__(name, milestones=milestones, **kwargs)

    def trainable(self, epoch: int, n: int) -> list[bool]:
        steps = sum(epoch >= m for m in self.milestones)
        per_step = self.groups_per_step or math.ceil(n / len(self.milestones))
        k = min(n, steps * per_step)  # how many groups, counted from the top, train now
        return [i >= n - k for i in range(n)]


def set_batchnorm_eval(module: nn.Module) -> None:
    """Put BatchNorm layers whose parameters are all frozen in eval mode (running stats fixed)."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            params = list(m.parameters(recurse=False))
            if params and not any(p.requires_grad for p in params):
                m.eval()


def set_batchnorm_train(module: nn.Module) -> None:
    """Put every BatchNorm layer in train mode (batch statistics, running stats updated)."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.train()


def has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


class FreezeSchedule(L.Callback):
    """Applies the module's strategy at fit start and at every epoch start."""

    def __init__(self) -> None:
        self.state: list[bool] | None = None

    def apply(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pl_module = cast("TaskModule", pl_module)
        groups = pl_module.backbone_groups
        wanted = pl_module.strategy.trainable(trainer.current_epoch, len(groups))
        if wanted == self.state:
            return
        for group, on in zip(groups, wanted, strict=True):
            for p in group:
                p.requires_grad_(on)
        self.state = wanted
        pl_module.train(pl_module.training)  # re-applies BatchNorm eval for frozen layers
        counts = pl_module.param_counts()
        log.info(
            "epoch %d: %s trainable %d / %d params (%d of %d backbone groups)",
            trainer.current_epoch,
            pl_module.strategy.name,
            counts["trainable"],
            counts["total"],
            sum(wanted),
            len(wanted),
        )
        pl_module.trainable_history.append({"epoch": trainer.current_epoch, **counts})
        final = pl_module.strategy.trainable(2**31, len(groups))
        if pl_module.hparams["model"].get("compile") and wanted == final:
            # Compiled once the freeze state is final: each later requires_grad change would
            # recompile. In place, so parameter names (and checkpoints) stay the eager ones.
            options = dict(pl_module.hparams["model"].get("compile_options") or {})
            pl_module.backbone.compile(**options)
            pl_module.compiled_at_epoch = trainer.current_epoch
            log.info("backbone compiled with torch.compile(%s)", options or "")

    def on_fit_start(self, trainer, pl_module) -> None:
        self.apply(trainer, pl_module)

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.apply(trainer, pl_module)
