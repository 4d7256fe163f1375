"""SLURM helpers: quiet submitit's sacct warnings, and this process's rank.

`hydra/launcher=slurm` (conf/hydra/launcher/slurm.yaml) is Hydra's submitit SLURM launcher: one
SLURM job per sweep job, the launching process waits for all of them. Submitit polls `sacct` for
job states; on a cluster without accounting (`AccountingStorageType=accounting_storage/none`, as
in `scripts/slurm_local.sh`) every poll prints sacct's "Slurm accounting storage is disabled"
and logs "Bypassing sacct error ...". Submitit learns that a job finished from its result file
either way, so the multirun callback (`CompareOnMultirunEnd.on_multirun_start`) calls
`quiet_sacct_warnings`: on such a cluster submitit stops polling sacct, and the bypass warning
is filtered out wherever sacct fails. (Without sacct, a job killed before submitit wrote its
result, e.g. by the OOM killer, is not noticed: `scancel` the sweep's jobs or use `squeue`.)
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess


class _NoSacctBypass(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Bypassing sacct error" not in record.getMessage()


_FILTER = _NoSacctBypass()


@functools.cache
def accounting_disabled() -> bool:
    """True when `scontrol` answers and says the cluster keeps no job accounting."""
    try:
        out = subprocess.run(
            ["scontrol", "show", "config"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(
        line.split("=", 1)[0].strip() == "AccountingStorageType"
        and line.split("=", 1)[-1].strip() == "accounting_storage/none"
        for line in out.stdout.splitlines()
    )


def _no_sacct_command(self):
    return None  # submitit's watcher skips the poll; results come from the job's result file


def quiet_sacct_warnings() -> None:
    """Drop submitit's sacct-bypass warnings (idempotent); every other submitit message stays.

    On a cluster without accounting, also stop submitit from calling sacct at all (each call
    prints an error on the console). Nothing changes where sacct works.
    """
    logger = logging.getLogger("submitit")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    try:
        from submitit.slurm.slurm import SlurmInfoWatcher
    except ImportError:
        return
    if accounting_disabled():
        setattr(SlurmInfoWatcher, "_make_command", _no_sacct_command)  # noqa: B010  (a patch)


def global_rank() -> int:
    """This process's rank, from the environment, as Lightning's `rank_zero_only` reads it.

    RANK / LOCAL_RANK (torchrun, Lightning's own DDP launcher) or SLURM_PROCID (one process per
    SLURM task); 0 when none is set (one process, or the main process of ddp_spawn).
    """
    for key in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        value = os.environ.get(key)
        if value is not None and value.isdigit():
            return int(value)
    return 0
