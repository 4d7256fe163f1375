"""One writer per run dir: a job (and a sweep, on its sweep dir) holds an exclusive lock from its
start to its record.

The lock is `fcntl.flock` on `<dir>/.bakeoff.lock`, which holds the holder's pid, host and start
time. A second process that wants the dir fails at once with one line naming the dir and the
holder (`RunDirBusy`). The kernel drops the lock when its process ends however it ends, so a lock
file left by a killed process (its pid and host still written in it) is taken over, with a
warning naming the process that is gone. Within one process the lock is re-entrant: the Hydra
callback takes it before Hydra writes the run's `.hydra/` files, and the run takes it again.
Only rank 0 of a multi-process run (RANK / LOCAL_RANK / SLURM_PROCID) locks.

Shared file systems: on Linux, `flock` on NFS is carried out as an NFS byte-range lock
(NFSv4, or NFSv3 with the lock daemon), so two hosts see each other's lock; on Lustre it
needs the `flock` mount option, and some FUSE or SMB mounts have no locks at all. Where the file
system refuses the lock (ENOLCK, EOPNOTSUPP, ENOSYS) the run goes on unlocked after one warning:
two writers are then not stopped there. A client that loses its NFS lease (a host cut off)
also loses its lock.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from bakeoff.errors import BakeoffError

log = logging.getLogger(__name__)

LOCK_NAME = ".bakeoff.lock"
_held: dict[str, list[int]] = {}  # resolved dir -> [fd, depth] held by this process
NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)


class RunDirBusy(BakeoffError):
    """Another live process is writing the run (or sweep) dir."""


def _rank() -> int:
    for key in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        value = os.environ.get(key, "")
        if value.isdigit():
            return int(value)
    return 0


def _holder(fd: int) -> dict[str, str]:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode(errors="replace")
    fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
    return fields


def _describe(holder: dict[str, str]) -> str:
    if not holder.get("pid"):
        return "another process"
    return f"pid {holder['pid']} on {holder.get('host', '?')} (since {holder.get('since', '?')})"


def acquire(directory: str | Path) -> bool:
    """Lock `directory` for this process (re-entrant). False where nothing was locked: a rank
    other than 0, or a file system without locks (after a warning)."""
    import fcntl

    if _rank() != 0:
        return False
    path = Path(directory).absolute()
    key = str(path)
    if key in _held:
        _held[key][1] += 1
        return True
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _describe(_holder(fd))
        os.close(fd)
        raise RunDirBusy(
            f"{path} is being written by {holder}: one writer per run dir. Wait for it to end, "
            "or give this run another name=... (no name=: a new dir every time)"
        ) from None
    except OSError as err:
        os.close(fd)
        if err.errno not in NO_LOCKS:
            raise
        log.warning(
            "%s: no file lock on this file system (%s): two writers are not stopped", path, err
        )
        return False
    stale = _holder(fd)
    if stale.get("pid"):
        log.warning(
            "%s: taking over the lock of %s: that process is gone (killed before it ended)",
            path,
            _describe(stale),
        )
    since = time.strftime("%Y-%m-%dT%H:%M:%S")
    mine = f"pid={os.getpid()} host={socket.gethostname()} since={since}\n"
    os.ftruncate(fd, 0)
    os.pwrite(fd, mine.encode(), 0)
    _held[key] = [fd, 1]
    return True


def release(directory: str | Path) -> None:
    import fcntl

    key = str(Path(directory).absolute())
    entry = _held.get(key)
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] > 0:
        return
    del _held[key]
    fd = entry[0]
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)  # an empty lock file: released cleanly, nothing to take over
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


@contextlib.contextmanager
def locked(directory: str | Path) -> Iterator[None]:
    taken = acquire(directory)
    try:
        yield
    finally:
        if taken:
            release(directory)


def _release_all() -> None:
    for key in list(_held):
        _held[key][1] = 1
        release(key)


atexit.register(_release_all)  # a sweep that exits early (SystemExit) leaves no stale holder


class LockOutputDir(Callback):
    """Registered in conf/hydra/default.yaml: the run dir (or sweep dir) is locked before Hydra
    writes into it, until the run (sweep) ends; a busy dir is one line and exit 1."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._acquire(config, config.hydra.run.dir)

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not config.get("dry_run"):
            release(config.hydra.run.dir)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._acquire(config, config.hydra.sweep.dir)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not config.get("dry_run"):
            release(config.hydra.sweep.dir)

    @staticmethod
    def _acquire(config: DictConfig, directory: str) -> None:
        if config.get("dry_run"):  # writes nothing
            return
        try:
            acquire(directory)
        except RunDirBusy as err:
            raise SystemExit(f"error: {err}") from None
