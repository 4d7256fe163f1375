"""A WandbLogger that starts its run in a background thread, so a job's first step need not wait."""

from __future__ import annotations

import threading

from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only


class BackgroundWandbLogger(WandbLogger):
    """WandbLogger whose run starts in a background thread the moment the logger is built.

    `wandb.init` costs 1-2 s before a job's first step (a service process to spawn and wait for,
    wandb's own lazy imports). Started early, the waiting overlaps with loading and tokenizing
    the data and building the model. Anything that needs the run (`experiment`, logging,
    pickling for spawn) waits for the thread, and an init error is raised there, in the caller.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._starting: threading.Thread | None = None
        self._start_error: BaseException | None = None
        if rank_zero_only.rank == 0:  # other ranks get Lightning's dummy experiment
            self._starting = threading.Thread(target=self._start, name="wandb-init", daemon=True)
            self._starting.start()

    def _start(self) -> None:
        try:
            WandbLogger.experiment.fget(self)
        except BaseException as err:  # re-raised by `started()` in the thread that asks
            self._start_error = err

    def started(self) -> None:
        """Wait for the background init; raise what it raised."""
        thread, self._starting = self._starting, None
        if thread is not None:
            thread.join()
        err, self._start_error = self._start_error, None
        if err is not None:
            raise err

    @property
    def experiment(self):
        self.started()
        return super().experiment

    def __getstate__(self) -> dict:
        self.started()
        state = super().__getstate__()
        state.pop("_starting", None)
        state["_start_error"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._starting, self._start_error = None, None
