"""Each job's own peak memory, also when jobs share a process (Hydra's basic launcher).

`ru_maxrss` is the process's peak over its whole life: in a sweep of the basic launcher every job
after the largest would show the largest's peak. Instead, at a job's start memory that earlier
jobs freed is handed back to the OS (gc, then glibc's malloc_trim) and the kernel's high-water
mark is reset (`/proc/self/clear_refs` with "5", Linux ≥ 4.0): VmHWM at the job's end is then the
job's own peak. Where that file cannot be written, a thread samples the RSS every 20 ms over the
job's span. On CUDA the allocator's peak is reset per job (torch.cuda.reset_peak_memory_stats).

The record says which method applied (`resources.peak_rss_method`) and what the process held
when the job started (`resources.rss_at_start_mb`): in a shared process that includes what
earlier jobs left loaded (imported libraries), which a fresh process may not load.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import threading
from pathlib import Path

VMHWM = "VmHWM reset at job start"
SAMPLED = "RSS sampled every 20 ms over the job"
STATUS, CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def _status_mb(field: str) -> float | None:
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        return None
    return None


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def release_freed_memory() -> None:
    """Collect garbage and return free heap pages to the OS (glibc only; a no-op elsewhere)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _reset_high_water_mark() -> bool:
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _status_mb("VmHWM") is not None


class JobMemory:
    """Started at a job's start; `peak_rss_mb()` / `peak_gpu_mem_mb()` at its end."""

    def __init__(self) -> None:
        import torch

        release_freed_memory()
        self.rss_at_start_mb = _rss_mb()
        if torch.cuda.is_available() and torch.cuda.is_initialized():  # an earlier job's peak
            torch.cuda.reset_peak_memory_stats()
        self.method = VMHWM if _reset_high_water_mark() else SAMPLED
        self._peak = self.rss_at_start_mb
        self._stop = threading.Event()
        self._thread = None
        if self.method == SAMPLED:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self._peak = max(self._peak, _rss_mb())

    def peak_rss_mb(self) -> float:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            return max(self._peak, _rss_mb())
        hwm = _status_mb("VmHWM")
        return hwm if hwm is not None else self._peak

    def peak_gpu_mem_mb(self) -> float | None:
        import torch

        if not torch.cuda.is_available() or not torch.cuda.is_initialized():
            return None
        return torch.cuda.max_memory_allocated() / 2**20
