"""Stop a run whose training loss is no longer a number, at that step, with a message that helps.

A learning rate too high for the model (`optim.lr=1e30`) makes the loss NaN or infinite within
a step or two; without this guard the run trains on NaN to its last epoch and records itself
`completed`. The check must not cost a host sync per step (the training step reads nothing back:
tests/test_no_host_sync.py): each step's verdict is computed on the device and copied, without
blocking, into a small host buffer that the next steps read once the copy has landed. On a CPU
the copy is immediate, so the run stops at the very step; on a GPU at most a step or two later,
and the message still names the first non-finite step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L
import torch

from bakeoff.errors import BakeoffError


class NonFiniteLossError(BakeoffError):
    """The training loss became NaN or infinite (the run is recorded as failed)."""


class StopOnNonFiniteLoss(L.Callback):
    """Fail the run when the training loss has been non-finite for more than `patience`
    consecutive steps (0: at the first one). Registered in conf/callbacks/default.yaml."""

    def __init__(self, patience: int = 0) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise BakeoffError(
                f"callbacks.nonfinite_loss.patience must be a whole number >= 0, got {patience!r}"
            )
        self.patience = patience

    def on_train_start(self, trainer, pl_module) -> None:
        device = pl_module.device
        # On the device: [consecutive non-finite steps, step where that streak began]
        self.state = torch.tensor([0, -1], dtype=torch.long, device=device)
        pinned = device.type == "cuda"
        self.host = torch.zeros(2, dtype=torch.long, pin_memory=pinned)
        self.host_view = self.host.numpy()  # the buffer's memory, read without a tensor op
        self.copied = torch.cuda.Event() if pinned else None
        self.lrs: dict[int, list[float]] = {}  # step -> learning rates, until checked

    def on_train_batch_start(self, trainer, pl_module, batch: Any, batch_idx: int) -> None:
        # This batch's optimizer step (1-based) and the rates its update uses (host floats).
        self.step = trainer.global_step + 1
        self.lrs[self.step] = [g["lr"] for opt in trainer.optimizers for g in opt.param_groups]
        for old in [s for s in self.lrs if s < self.step - self.patience - 16]:
            del self.lrs[old]  # a GPU's verdict lags a step or two behind; a streak, patience

    def on_train_batch_end(self, trainer, pl_module, outputs, batch: Any, batch_idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if not isinstance(loss, torch.Tensor):
            return
        bad = ~torch.isfinite(loss.detach()).reshape(())
        streak = torch.where(bad, self.state[0] + 1, torch.zeros_like(self.state[0]))
        start = torch.full_like(self.state[1], self.step)
        self.state = torch.stack([streak, torch.where(bad & (streak == 1), start, self.state[1])])
        if self.copied is None:  # CPU: the copy is done when copy_ returns
            self.host.copy_(self.state)
            self._check(trainer)
        elif self.copied.query():  # GPU: read the copy that has landed, then start the next
            self._check(trainer)
            self.host.copy_(self.state, non_blocking=True)
            self.copied.record()

    def _check(self, trainer) -> None:
        streak, began = (int(v) for v in self.host_view)
        if streak > self.patience:
            raise NonFiniteLossError(
                f"training loss is not finite (NaN or inf) from step {began} (epoch "
                f"{trainer.current_epoch}), learning rate {describe_lrs(self.lrs.get(began))}; "
                f"stopped after {streak} such step(s) (callbacks.nonfinite_loss.patience="
                f"{self.patience}). Lower optim.lr / optim.head_lr, warm up "
                "(scheduler.warmup_ratio=0.1), clip gradients (trainer.gradient_clip_val=1.0), "
                "or train in 32-bit (trainer.precision=32-true)"
            )


def describe_lrs(lrs: list[float] | None) -> str:
    if not lrs:
        return "unknown"
    low, high = min(lrs), max(lrs)
    return f"{high:.3g}" if low == high else f"{low:.3g} to {high:.3g} (by param group)"


class NonFiniteOutputsError(BakeoffError):
    """Validation or test outputs are NaN or infinite: the run is failed, whatever the patience
    of the training-loss guard (which only decides how many non-finite steps are skipped)."""


def non_finite_metrics(metrics: dict[str, Any]) -> list[str]:
    """The loss metrics that are NaN/inf: a loss is non-finite exactly when the outputs are (a
    correlation of constant predictions is NaN from finite outputs: not an output fault)."""
    import math

    return sorted(
        k
        for k, v in metrics.items()
        if k.split("/")[-1].endswith("loss") and isinstance(v, float) and not math.isfinite(v)
    )


def non_finite_outputs(batches: list[dict[str, Any]]) -> int:
    """How many gathered test batches hold a non-finite float output."""
    bad = 0
    for batch in batches:
        for value in batch.values():
            floating = isinstance(value, torch.Tensor) and value.is_floating_point()
            if floating and not bool(torch.isfinite(value).all()):
                bad += 1
                break
    return bad


def check_finite(
    split: str, metrics: dict[str, Any], batches: Sequence[dict[str, Any]] = ()
) -> None:
    """Raise NonFiniteOutputsError when a `split` metric or output is NaN/inf."""
    keys = non_finite_metrics(metrics)
    bad_batches = non_finite_outputs(list(batches))
    if not keys and not bad_batches:
        return
    what = f"{split} metrics {', '.join(f'{split}/{k}' for k in keys)}" if keys else ""
    if bad_batches:
        what += (" and " if what else "") + f"{split} outputs of {bad_batches} batch(es)"
    raise NonFiniteOutputsError(
        f"{what} are not finite (NaN or inf): the model's outputs are not numbers, so the run "
        "is failed, not completed (callbacks.nonfinite_loss.patience only skips training "
        "steps). Lower optim.lr / optim.head_lr, warm up (scheduler.warmup_ratio=0.1), clip "
        "gradients (trainer.gradient_clip_val=1.0), or train in 32-bit (trainer.precision=32-true)"
    )
