"""A WandbLogger that starts its run in a background thread, so a job's first step need not wait."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from bakeoff.loggers.wandb_console import announce, console_settings

log = logging.getLogger(__name__)


def start_experiment(logger: WandbLogger) -> None:
    """Read WandbLogger's own `experiment` (looked up now): it makes the run (wandb.init)."""
    vars(WandbLogger)["experiment"].fget(logger)


class BackgroundWandbLogger(WandbLogger):
    """WandbLogger whose run starts in a background thread once training is under way.

    Importing wandb and `wandb.init` cost about a second of Python work on 2 cores, plus the
    start of W&B's service process. Done while the job starts up (even in a thread, which
    competes for the GIL and the cores with the data and model being built), that delayed the
    first step by ~1.5 s: 1.5x the bare imports of the stack. So the thread waits until the
    first metrics are logged, or `START_AFTER_S` after the logger is built, whichever comes
    first, and then starts the run beside the training steps (torch kernels release the GIL).
    Hyperparameters and metrics logged before it is up are queued and sent, in order, by the
    first log call after it is. `experiment` (and pickling, for spawn) starts it at once and
    waits for it; an init error is raised there, in the caller.
    """

    # At the latest this long after the logger is built, the run starts: the first step of a
    # job (data read, model built) comes before it, and the run still shows in W&B early when
    # the first logged metrics are far off.
    START_AFTER_S = 10.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Lightning always passes `anonymous` (None when unset), and wandb warns on every run that
        # the setting has no effect. wandb's console output is off (its lines per run, the
        # history and summary panels at the end): `announce` prints one line per run instead.
        if self._wandb_init.get("anonymous") is None:
            self._wandb_init.pop("anonymous", None)
        self._wandb_init.setdefault("settings", console_settings())
        self._starting: threading.Thread | None = None
        self._start_error: BaseException | None = None
        self._queued: list[tuple[Callable, tuple]] = []
        self._go = threading.Event()  # set: start the run now
        if getattr(rank_zero_only, "rank", 0) == 0:  # other ranks get Lightning's dummy experiment
            self._starting = threading.Thread(
                target=self._start_when_asked, name="wandb-init", daemon=True
            )
            self._starting.start()

    def _start_when_asked(self) -> None:
        self._go.wait(self.START_AFTER_S)
        self._start()

    def _start(self) -> None:
        from bakeoff.utils.frozen_frames import map_frozen_import_frames

        map_frozen_import_frames()  # wandb's import, with torch loaded: seconds without it
        try:
            start_experiment(self)
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
                start_experiment(self)
            except BaseException as offline_err:
                self._start_error = offline_err
                return
        if self._wandb_init.get("settings") == console_settings() and console_settings():
            with contextlib.suppress(Exception):  # a line of output must not fail the run
                announce(self._experiment)

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
            self._go.set()
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
        self._go.set()  # something to show: the run starts now, in the background
        self._when_started(super().log_metrics, dict(metrics), step)

    @property
    def experiment(self):
        if self._starting is not None and self._starting.is_alive():
            # Lightning touches `experiment` of every logger at fit setup, only to create it:
            # waiting there would put the whole start of the run back before the first step.
            return StartingRun(self)
        self.started()
        return super().experiment

    def __getstate__(self) -> dict:
        self.started()
        state = super().__getstate__()
        for live in ("_starting", "_start_error", "_queued", "_go"):
            state.pop(live, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._starting, self._start_error, self._queued = None, None, []
        self._go = threading.Event()


class StartingRun:
    """What `experiment` gives while the run is still starting: any use of it (an attribute,
    e.g. `.log` or `.id`) waits for the run and is passed on to it."""

    def __init__(self, logger: BackgroundWandbLogger) -> None:
        self._logger = logger

    def __getattr__(self, name: str):
        self._logger.started()  # the run is up (or its error raised): `experiment` is the run
        return getattr(self._logger.experiment, name)
