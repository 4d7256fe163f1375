"""ModelCheckpoint whose `last.ckpt` is always the latest validated state.

Lightning 2.6 writes `last.ckpt` only in a step where it also wrote a top-k checkpoint: with
`save_top_k: 1`, after an epoch worse than the best one `last.ckpt` would still hold the best
epoch, and `resume=true` (or a requeued SLURM job) would go back to it and train the later
epochs again. This subclass writes it after every validation (or every train epoch when there
is no validation), whether or not a top-k checkpoint was written.
"""

from __future__ import annotations

from lightning.pytorch.callbacks import ModelCheckpoint


class LatestModelCheckpoint(ModelCheckpoint):
    def _save_latest(self, trainer) -> None:
        # _should_skip_saving_checkpoint is true when this step was saved already (top-k + last)
        if self.save_last and not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_validation_end(self, trainer, pl_module) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._save_latest(trainer)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._save_latest(trainer)
