"""ModelCheckpoint whose `last.ckpt` is always the latest validated state, at the epoch's end.

Lightning 2.6 writes `last.ckpt` only in a step where it also wrote a top-k checkpoint: with
`save_top_k: 1`, after an epoch worse than the best one `last.ckpt` would still hold the best
epoch, and `resume=true` (or a requeued SLURM job) would go back to it and train the later
epochs again. This subclass writes it after every validation (or every train epoch when there
is no validation), whether or not a top-k checkpoint was written.

A validation at the end of an epoch (the usual case) writes `last.ckpt` at the epoch's end, after
the other callbacks' `on_train_epoch_end` (Lightning runs checkpoint callbacks last): the epoch's
train metrics in the run's history, a training budget's stop (bakeoff.callbacks.budget) and the random
state (bakeoff.callbacks.exact_resume) are then in it, and a run resumed from it goes on exactly as
the uninterrupted run did. A validation inside an epoch (`val_check_interval` < 1) writes it
at once, as before.
"""

from __future__ import annotations

from lightning.pytorch.callbacks import ModelCheckpoint


class LatestModelCheckpoint(ModelCheckpoint):
    _last_at_epoch_end = False

    def _save_latest(self, trainer) -> None:
        # _should_skip_saving_checkpoint is true when this step was saved already (top-k + last)
        if self.save_last and not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_validation_end(self, trainer, pl_module) -> None:
        at_epoch_end = (
            not self._should_save_on_train_epoch_end(trainer)
            and not trainer.sanity_checking
            and trainer.fit_loop.epoch_loop.batch_progress.is_last_batch
        )
        if not at_epoch_end:
            super().on_validation_end(trainer, pl_module)
            if not self._should_save_on_train_epoch_end(trainer):
                self._save_latest(trainer)
            return
        save_last, self.save_last = self.save_last, False  # written at the epoch's end instead
        try:
            super().on_validation_end(trainer, pl_module)
        finally:
            self.save_last = save_last
        self._last_at_epoch_end = bool(save_last) and not trainer.fast_dev_run

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._last_at_epoch_end:
            self._last_at_epoch_end = False
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        elif self._should_save_on_train_epoch_end(trainer):
            self._save_latest(trainer)
