"""A WandbLogger that starts its run in a background thread, so a job's first step need not wait."""

from __future__ import annotations

import threading
from collections.abc import Callable

from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only


class BackgroundWandbLogger(WandbLogger):
    """WandbLogger whose run starts in a background thread the moment the logger is built.

    `wandb.init` costs about half a second of Python work plus the wait for W&B's service
    process. Started early, it runs while the data and model are built and the first steps train
    (torch kernels release the GIL). Hyperparameters and metrics logged while it is still
    starting are queued and sent, in order, by the first log call after it is up. `experiment`
    (and pickling, for spawn) waits for it; an init error is raised there, in the caller.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._starting: threading.Thread | None = None
        self._start_error: BaseException | None = None
        self._queued: list[tuple[Callable, tuple]] = []
        if rank_zero_only.rank == 0:  # other ranks get Lightning's dummy experiment
            self._starting = threading.Thread(target=self._start, name="wandb-init", daemon=True)
            self._starting.start()

    def _start(self) -> None:
        try:
            WandbLogger.experiment.fget(self)
        except BaseException as err:  # re-raised by `started()` in the thread that asks
            self._start_error = err

    def started(self) -> None:
        """Wait for the background init, raise what it raised, send what was queued."""
        thread, self._starting = self._starting, None
        if thread is not None:
            thread.join()
        err, self._start_error = self._start_error, None
        if err is not None:
            self._queued.clear()
            raise err
        queued, self._queued = self._queued, []
        for log, args in queued:
            log(*args)

    def _when_started(self, log: Callable, *args) -> None:
        if self._starting is not None and self._starting.is_alive():
            self._queued.append((log, args))
        else:
            self.started()
            log(*args)

    def log_hyperparams(self, params) -> None:
        self._when_started(super().log_hyperparams, params)

    def log_metrics(self, metrics, step: int | None = None) -> None:
        self._when_started(super().log_metrics, dict(metrics), step)

    @property
    def experiment(self):
        self.started()
        return super().experiment

    def __getstate__(self) -> dict:
        self.started()
        state = super().__getstate__()
        for live in ("_starting", "_start_error", "_queued"):
            state.pop(live, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._starting, self._start_error, self._queued = None, None, []
