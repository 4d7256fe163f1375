"""A WandbLogger that starts its run in a background thread, so a job's first step need not wait."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only

log = logging.getLogger(__name__)


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
        # Lightning always passes `anonymous` (None when unset), and wandb warns on every run that
        # the setting has no effect. `quiet`: no run history and summary panel at the end (the
        # run's own summary has the numbers); where the run is saved is still printed.
        if self._wandb_init.get("anonymous") is None:
            self._wandb_init.pop("anonymous", None)
        self._wandb_init.setdefault("settings", {"quiet": True})
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
            if not self._online_failed(err):
                self._start_error = err
                return
            # An online run that cannot start (server unreachable, key refused) must not kill
            # the job, or every job of a sweep: one warning, and the run is logged offline.
            log.warning(
                "W&B online run could not start (%s: %s): logging offline instead; "
                "`wandb sync` uploads it later",
                type(err).__name__,
                str(err).strip().splitlines()[0] if str(err).strip() else "",
            )
            self._wandb_init["mode"] = "offline"
            self._experiment = None
            try:
                WandbLogger.experiment.fget(self)
            except BaseException as offline_err:
                self._start_error = offline_err

    def _online_failed(self, err: BaseException) -> bool:
        """A W&B or network error of an online run (one an offline run cannot have)."""
        if self._wandb_init.get("mode") in ("offline", "disabled"):
            return False
        import wandb

        return isinstance(err, (wandb.Error, ConnectionError, TimeoutError, OSError))

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
