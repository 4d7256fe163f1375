"""How long this process has been running, to 10 ms (imports nothing heavy: benchmarks use it)."""

from __future__ import annotations

import os
import time


def process_age_s() -> float:
    """Seconds since this process started (the `python train.py` moment, imports included).

    On Linux: the boot clock minus the kernel's start tick for this process, both counted from
    boot. psutil's `create_time()` adds the boot time, which /proc gives in whole seconds only,
    so ages computed from it are off by up to a second (0.8 s on the machine that found this).
    """
    try:
        with open("/proc/self/stat") as f:
            after_name = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(after_name[19])  # field 22, starttime; this list starts at field 3
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):  # not Linux
        import psutil

        return time.time() - psutil.Process().create_time()


# Process age at which the current job started. Hydra's basic launcher runs a sweep's jobs one
# after another in one process, and a joblib worker runs several: a job's start-up is counted
# from its own start, except the process's first job, which also paid for the imports.
_job_started_at: float | None = None


def start_job() -> None:
    """Mark the start of a job (train.py's task function calls this first thing)."""
    global _job_started_at
    _job_started_at = 0.0 if _job_started_at is None else process_age_s()


def job_age_s() -> float:
    """Seconds since this job started: `timing.startup_s` when read at the first batch."""
    return process_age_s() - (_job_started_at or 0.0)
