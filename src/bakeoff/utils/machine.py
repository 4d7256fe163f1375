"""The machine a measurement ran on, for the reports of scripts/bench.py and scripts/scaling.py."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

# Distribution name -> report key.
PACKAGES = {
    "torch": "torch",
    "transformers": "transformers",
    "lightning": "lightning",
    "hydra-core": "hydra",
    "joblib": "joblib",
}


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, else what `platform` knows."""
    fallback = platform.processor() or platform.machine() or "unknown"
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return fallback
    names = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")]
    return names[0] if names else fallback


def package_version(dist: str) -> str | None:
    """The installed version of a distribution, None when it is not installed."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _memory_gb() -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    return round(psutil.virtual_memory().total / 2**30, 1)


def machine(
    usable_cores: int | None = None, threads: int | None = None, gpu: bool = False
) -> dict[str, Any]:
    """cpu, cores, usable_cores, threads, gpu, memory_gb, load_before, python and the versions of
    torch, transformers, lightning, hydra and joblib (None where not installed).

    usable_cores defaults to the cores this process may run on; `gpu` adds the CUDA device name.
    """
    gpu_name = None
    if gpu:
        import torch

        gpu_name = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "usable_cores": usable_cores or len(os.sched_getaffinity(0)),
        "threads": threads,
        "gpu": gpu_name,
        "memory_gb": _memory_gb(),
        "load_before": os.getloadavg()[0],
        "python": platform.python_version(),
        **{key: package_version(dist) for dist, key in PACKAGES.items()},
    }
