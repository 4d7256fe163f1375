"""Interrupted runs: stop cleanly on a signal, and pick a job up again with `resume=true`.

- `StopOnSignal`: SIGTERM, SIGUSR1, SIGUSR2 and SIGINT set a flag; at the next train-step
  boundary the run raises `RunInterrupted`. `last.ckpt` is the checkpoint of the last validated
  epoch (ModelCheckpoint writes it at every validation), so a resumed run restarts the
  interrupted epoch from its first step: exact, whereas a mid-epoch checkpoint would replay a
  partly seen epoch. The handlers are installed at train start, after Lightning's and a
  launcher's. SIGTERM/SIGINT chain the earlier handler (Lightning's SIGTERM flag, submitit's
  log line); the requeue signals SIGUSR1/SIGUSR2 do not, so that nothing requeues the job
  before its record and checkpoint are written. With several ranks (ddp) the stop goes through
  Lightning's SIGTERM flag, broadcast from rank 0, so that all ranks stop at the same step.
  Exit status 128 + signal: 143 (TERM), 138 (USR1), 140 (USR2), 130 (INT); a second Ctrl-C
  stops at once. Under `ddp_spawn` only the spawned workers have the handlers.
- Requeue under SLURM, one mechanism: submitit's (`hydra/launcher=slurm`). SLURM sends SIGUSR2
  `signal_delay_s` before the time limit (submitit's `--signal`; `scancel --signal=USR2` or
  `USR1` does the same by hand): the run stops and records `interrupted`, then
  `requeue_submitit_job` hands over to submitit's own handler, which re-submits the same Hydra
  job (`scontrol requeue`; at most `max_num_timeout` times after a time-out, without limit after
  a pre-emption). The requeued job sees `SLURM_RESTART_COUNT` and resumes from `last.ckpt` as
  with `resume=true` (`requeued`). Lightning's own SLURM auto-requeue is not used: its handler
  is not chained, and it would save an extra `hpc_ckpt` mid-epoch. SIGTERM (`scancel`, a node
  going down) ends the job with an `interrupted` record and is not requeued; `resume=true`
  finishes it later.
- `completed_record` / `resume_checkpoint`: what `resume=true` does per job.
- `wandb_run_id`: the W&B run id lives in the run dir, so a resumed job continues the same run.
- CSV rows of earlier epochs stay: `logger=csv` is `bakeoff.loggers.csv_logger.AppendingCSVLogger`.
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
    getattr(signal, name)
    for name in ("SIGTERM", "SIGUSR1", "SIGUSR2", "SIGINT")
    if hasattr(signal, name)
)
# Signals that ask for a requeue (SLURM's --signal before the time limit; submitit's is USR2).
REQUEUE_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGUSR1", "SIGUSR2") if hasattr(signal, name)
)
WANDB_ID_FILE = "wandb_run_id"
LAST_CKPT = Path("checkpoints") / "last.ckpt"


class StopOnSignal(L.Callback):
    """Turns SIGTERM/SIGUSR1/SIGUSR2/SIGINT into a stop at the next step boundary (module doc)."""

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
        if signum in REQUEUE_SIGNALS:
            return  # requeued after the record is written (requeue_submitit_job), not now
        previous = self._previous.get(signum)
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signum, frame)  # Lightning's SIGTERM flag, submitit's log line

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


def completed_record(run_dir: Path, status: str = "completed") -> dict[str, Any] | None:
    """The job's record if it already completed (resume=true then skips it), or has `status`."""
    from bakeoff.record.store import RECORD_NAME, read_record

    if not (run_dir / RECORD_NAME).is_file():
        return None
    try:
        record = read_record(run_dir)
    except ValueError:
        return None
    return record if record.get("status") == status else None


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


def requeued() -> int:
    """How often SLURM has requeued this job (0: first run, or not under SLURM)."""
    import os

    count = os.environ.get("SLURM_RESTART_COUNT", "0")
    return int(count) if count.isdigit() else 0


def in_submitit_job() -> bool:
    """True in a job that submitit launched (hydra/launcher=slurm or submitit_local)."""
    import os

    return bool(os.environ.get("SUBMITIT_EXECUTOR"))


def requeue_submitit_job(signum: int) -> None:
    """Hand a stopped job over to submitit's pre-emption handler: it re-submits the same job.

    On success submitit requeues the SLURM job and exits the process (SystemExit), leaving no
    result file, so the launcher keeps waiting for the requeued run. Returns when there is
    nothing to hand over (not rank 0, no submitit handler) or submitit declines (time-outs
    exhausted: `hydra.launcher.max_num_timeout`), after logging why.
    """
    try:
        from submitit.core.job_environment import JobEnvironment
        from submitit.core.utils import UncompletedJobError
    except ImportError:
        return
    handler = signal.getsignal(JobEnvironment._usr_sig())
    owner = getattr(handler, "__self__", None)
    if owner is None or not callable(handler) or not type(owner).__module__.startswith("submitit"):
        log.warning("not requeued: submitit's signal handler is not installed in this process")
        return
    try:
        handler(signum, None)  # checkpoint the submission, scontrol requeue, exit (rank 0 only)
    except UncompletedJobError as err:
        log.warning("not requeued: %s", err)


def no_lightning_requeue(trainer) -> None:
    """One requeue mechanism under SLURM, submitit's: Lightning's auto-requeue (on SIGUSR1) would
    save an `hpc_ckpt` mid-epoch and requeue the job before its record is written."""
    from lightning.pytorch.plugins.environments import SLURMEnvironment

    environment = trainer._accelerator_connector.cluster_environment
    if isinstance(environment, SLURMEnvironment):
        environment.auto_requeue = False
