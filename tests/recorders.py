"""Callbacks the tests plug in through config (`+callbacks.x._target_=tests.recorders...`).

They observe a real run and write what they saw to JSON, so tests assert on facts, not logs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import lightning as L
import torch


class GroupActivity(L.Callback):
    """Per epoch: which backbone layer groups (and the head) got gradients and changed."""

    def __init__(self, out: str) -> None:
        self.out, self.epochs = Path(out), []

    def _params(self, pl_module):
        groups = {f"backbone_{i}": g for i, g in enumerate(pl_module.backbone_groups)}
        groups["head"] = list(pl_module.head.parameters())
        return groups

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.before = {
            k: [p.detach().clone() for p in ps] for k, ps in self._params(pl_module).items()
        }
        self.with_grad: set[str] = set()
        self.lrs = {g["name"]: g["lr"] for g in trainer.optimizers[0].param_groups}
        self.weight_decays = {
            g["name"]: g["weight_decay"] for g in trainer.optimizers[0].param_groups
        }

    def on_after_backward(self, trainer, pl_module) -> None:
        for k, ps in self._params(pl_module).items():
            if any(p.grad is not None for p in ps):
                self.with_grad.add(k)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        changed = [
            k
            for k, ps in self._params(pl_module).items()
            if any(not torch.equal(p, b) for p, b in zip(ps, self.before[k], strict=True))
        ]
        self.epochs.append(
            {
                "epoch": trainer.current_epoch,
                "changed": sorted(changed),
                "with_grad": sorted(self.with_grad),
                "lrs": self.lrs,
                "weight_decays": self.weight_decays,
            }
        )
        self.out.write_text(json.dumps(self.epochs))


class BatchNormStats(L.Callback):
    """Saves every BatchNorm buffer of the backbone before fit and after it."""

    def __init__(self, out: str) -> None:
        self.out = Path(out)

    def _stats(self, pl_module):
        return {
            k: v.detach().clone()
            for k, v in pl_module.backbone.state_dict().items()
            if "running_" in k or "num_batches_tracked" in k
        }

    def on_fit_start(self, trainer, pl_module) -> None:
        self.before = self._stats(pl_module)

    def on_fit_end(self, trainer, pl_module) -> None:
        after = self._stats(pl_module)
        # "computed"/"read": the head trained on cached features; None: on the backbone's output
        cached = getattr(pl_module, "feature_cache_status", None)
        torch.save({"before": self.before, "after": after, "features": cached}, self.out)


SYNC_METHODS = ("item", "__bool__", "__float__", "__int__", "tolist", "numpy")
# Reads that are not bakeoff's and not a device sync, or the same in any hand-written loop:
# torch.optim reads its step counters, which stay on the CPU even on a GPU (non-capturable
# Adam); transformers' SDPA mask check runs inside the model's own forward.
NOT_OURS = ("torch/optim/", "transformers/masking_utils.py")


def reader(frame) -> str:
    """The file of the code that read the tensor: the frame that called the tensor method."""
    return frame.f_back.f_code.co_filename


class HostSyncCounter(L.Callback):
    """Counts tensor -> Python reads (each a device->host sync on a GPU) while training runs.

    A read is charged to the code that made it (the caller of `.item()` etc.), not to what is
    further up the stack: Lightning runs the training step inside `optimizer.step`'s closure, so
    a read in the step has torch.optim frames above it, and must count all the same.
    """

    def __init__(self, out: str) -> None:
        self.out, self.count, self.saved = Path(out), 0, {}
        self.readers: dict[str, int] = {}

    def on_train_start(self, trainer, pl_module) -> None:
        for name in SYNC_METHODS:
            original = getattr(torch.Tensor, name)
            self.saved[name] = original

            def counted(tensor, *args, _original=original, **kwargs):
                where = reader(sys._getframe())
                if not any(part in where for part in NOT_OURS):
                    self.count += 1
                    self.readers[where] = self.readers.get(where, 0) + 1
                return _original(tensor, *args, **kwargs)

            setattr(torch.Tensor, name, counted)

    def on_train_end(self, trainer, pl_module) -> None:
        for name, original in self.saved.items():
            setattr(torch.Tensor, name, original)
        result = {"syncs": self.count, "steps": trainer.global_step, "readers": self.readers}
        self.out.write_text(json.dumps(result))


class BatchNormEpochs(L.Callback):
    """Per epoch: how many backbone BatchNorm layers were in training mode during the training
    steps, and how many running means changed (mobilenetv2_100 has 52 layers)."""

    def __init__(self, out: str) -> None:
        self.out, self.epochs = Path(out), []

    @staticmethod
    def _layers(pl_module):
        return [
            m
            for m in pl_module.backbone.modules()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
        ]

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.means = [m.running_mean.clone() for m in self._layers(pl_module)]
        self.training: set[int] = set()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.training |= {i for i, m in enumerate(self._layers(pl_module)) if m.training}

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        layers = self._layers(pl_module)
        changed = sum(
            not torch.equal(m.running_mean, b) for m, b in zip(layers, self.means, strict=True)
        )
        trainable = sum(p.requires_grad for m in layers for p in m.parameters())
        self.epochs.append(
            {
                "epoch": trainer.current_epoch,
                "training": len(self.training),
                "stats_changed": changed,
                "trainable_params": trainable,
            }
        )
        self.out.write_text(json.dumps(self.epochs))


class SpoilHead(L.Callback):
    """At the start of epoch `at_epoch`, flips and scales the head's weights: from then on the
    model is far worse than before (a run whose best epoch is not its last)."""

    def __init__(self, at_epoch: int = 1, factor: float = -50.0) -> None:
        self.at_epoch, self.factor = at_epoch, factor

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.current_epoch == self.at_epoch:
            with torch.no_grad():
                for p in pl_module.head.parameters():
                    p.mul_(self.factor)


class SaveFinal(L.Callback):
    """Saves the weights as they are when fit ends, as a checkpoint eval.py can test."""

    def __init__(self, out: str) -> None:
        self.out = out

    def on_fit_end(self, trainer, pl_module) -> None:
        trainer.save_checkpoint(self.out)


class ReplicaChecksums(L.Callback):
    """Every rank's parameter checksum at each epoch end, written by rank 0: DDP replicas that
    stop averaging some gradients (e.g. parameters unfrozen after DDP wrapped the model) drift."""

    def __init__(self, out: str) -> None:
        self.out, self.rows = out, []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        total = torch.stack([p.detach().double().sum() for p in pl_module.parameters()]).sum()
        sums = trainer.strategy.all_gather(total.reshape(1)).flatten().tolist()
        trainable = sum(p.numel() for p in pl_module.parameters() if p.requires_grad)
        self.rows.append({"epoch": trainer.current_epoch, "sums": sums, "trainable": trainable})
        if trainer.global_rank == 0:
            Path(self.out).write_text(json.dumps(self.rows))
