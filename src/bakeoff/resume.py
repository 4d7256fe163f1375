"""Interrupted runs: stop cleanly on a signal, and pick a job up again with `resume=true`.

- `StopOnSignal`: SIGTERM, SIGUSR1 (what SLURM sends before it kills a job) and SIGINT set a flag;
  at the next train-step boundary the run raises `RunInterrupted`. `last.ckpt` is the checkpoint
  of the last validated epoch (ModelCheckpoint writes it at every validation), so a resumed run
  restarts the interrupted epoch from its first step: exact, whereas a mid-epoch checkpoint would
  replay a partly seen epoch. The handlers are installed at train start, after Lightning's, and
  chain them (Lightning's SLURM requeue on SIGUSR1, its SIGTERM flag, a launcher's). With several
  ranks (ddp) the stop goes through Lightning's SIGTERM flag, broadcast from rank 0, so that all
  ranks stop at the same step. Exit status 128 + signal: 143 (TERM), 138 (USR1), 130 (INT); a
  second Ctrl-C stops at once. Under `ddp_spawn` only the spawned workers have the handlers.
- `completed_record` / `resume_checkpoint`: what `resume=true` does per job.
- `wandb_run_id`: the W&B run id lives in the run dir, so a resumed job continues the same run.
- CSV rows of earlier epochs stay: `logger=csv` is `bakeoff.utils.csv_logger.AppendingCSVLogger`.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

import lightning as L

from bakeoff.errors import RunInterrupted

log = logging.getLogger(__name__)

SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGUSR1", "SIGINT") if hasattr(signal, name)
)
WANDB_ID_FILE = "wandb_run_id"
LAST_CKPT = Path("checkpoints") / "last.ckpt"


class StopOnSignal(L.Callback):
    """Turns SIGTERM/SIGUSR1/SIGINT into a stop at the next step boundary (see module doc)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._trainer = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        if self.received is None:
            self.received = signum
            log.warning("received %s: stopping at the next step", signal.Signals(signum).name)
            trainer = self._trainer
            if trainer is not None and trainer.world_size > 1:
                # Several ranks must stop at the same step: Lightning's SIGTERM flag is broadcast
                # from rank 0 at the next batch, and every rank raises its SIGTERMException.
                trainer._signal_connector.received_sigterm = True
        previous = self._previous.get(signum)
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signum, frame)  # Lightning's own (SIGTERM; SIGUSR1 requeue under SLURM)

    def on_train_start(self, trainer, pl_module) -> None:
        # After Lightning registered its handlers (it does after on_fit_start): they are chained.
        self.received, self._trainer = None, trainer
        for signum in SIGNALS:
            with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
                self._previous[signum] = signal.signal(signum, self._handle)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.received is not None and trainer.world_size == 1:
            raise RunInterrupted(self.received)

    def on_validation_batch_end(self, trainer, *args, **kwargs) -> None:
        if self.received is not None and trainer.world_size == 1 and not trainer.sanity_checking:
            raise RunInterrupted(self.received)

    def on_exception(self, trainer, pl_module, exception) -> None:
        self._restore()

    def teardown(self, trainer, pl_module, stage) -> None:
        self._restore()

    def _restore(self) -> None:
        self._trainer = None
        previous, self._previous = self._previous, {}
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def interruption(err: BaseException, stopper: StopOnSignal) -> RunInterrupted | None:
    """The signal an exception stands for: ours, or Lightning's SIGTERM exit (also used by DDP)."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    if isinstance(err, RunInterrupted):
        return err
    if isinstance(err, SIGTERMException):
        return RunInterrupted(stopper.received or signal.SIGTERM)
    if isinstance(err, (SystemExit, KeyboardInterrupt)) and stopper.received is not None:
        return RunInterrupted(stopper.received)  # a second Ctrl-C: Lightning's sys.exit(1)
    return None


def completed_record(run_dir: Path) -> dict[str, Any] | None:
    """The job's record if it already completed (resume=true then skips it)."""
    from bakeoff.results.record import RECORD_NAME, read_record

    if not (run_dir / RECORD_NAME).is_file():
        return None
    try:
        record = read_record(run_dir)
    except ValueError:
        return None
    return record if record.get("status") == "completed" else None


def resume_checkpoint(run_dir: Path) -> str | None:
    path = run_dir / LAST_CKPT
    return str(path) if path.is_file() else None


def wandb_run_id(run_dir: Path, resume: bool) -> tuple[str, bool]:
    """(run id, whether it continues an earlier run): the id is written when the run starts."""
    import os

    path = run_dir / WANDB_ID_FILE
    stored = path.read_text().strip() if path.is_file() else ""
    rank = int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))
    if stored and (resume or rank > 0):  # ranks > 0 of a relaunched DDP run: rank 0's id
        return stored, resume
    import secrets
    import string

    run_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(run_id + "\n")
    return run_id, False
