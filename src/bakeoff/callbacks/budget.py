"""A training budget separate from the horizon: `budget.epochs`.

`trainer.max_epochs` is the horizon: the learning-rate schedule (warm-up and decay), the freeze
milestones and early stopping are planned over it, once. `budget.epochs=k` ends the run after k
epochs, with `last.ckpt` written at the epoch's end, and the record says `paused` with the
epochs reached (`epochs_trained`). `resume=true` with a larger budget (or none) continues it
from there, on the same schedule: pausing and resuming never re-plan it, so a run paused and
continued equals the run trained straight through. Early stopping that fires inside the budget
ends the run `completed`, and a budget at or past the horizon changes nothing.
"""

from __future__ import annotations

import logging

import lightning as L
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


def budget_epochs(cfg: DictConfig) -> int | None:
    return OmegaConf.select(cfg, "budget.epochs", default=None)


def paused_within(record: dict | None, cfg: DictConfig) -> bool:
    """True for a paused record that has trained its budget already (resume=true: not again)."""
    epochs = budget_epochs(cfg)
    return (
        record is not None
        and record.get("status") == "paused"
        and epochs is not None
        and (record.get("epochs_trained") or 0) >= epochs
    )


class TrainingBudget(L.Callback):
    """Stops the fit at the end of epoch `epochs` (counted from the run's start) unless the
    horizon or an earlier stop (early stopping) ends it there anyway; `paused` says it did."""

    def __init__(self, epochs: int | None) -> None:
        self.epochs = epochs
        self.paused = False

    def _spent(self, trainer, done: int) -> bool:
        horizon = trainer.max_epochs
        return (
            self.epochs is not None
            and done >= self.epochs
            and not (horizon is not None and horizon >= 0 and done >= horizon)
        )

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if trainer.should_stop:  # early stopping (or a non-finite loss) ended the run first
            return
        if self._spent(trainer, trainer.current_epoch + 1):
            trainer.should_stop = self.paused = True
            log.info(
                "budget.epochs=%d spent at epoch %d of %d: paused (resume=true continues)",
                self.epochs,
                trainer.current_epoch + 1,
                trainer.max_epochs,
            )
