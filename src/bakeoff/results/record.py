"""The run record `results.json`: one per job, written atomically, also when the job fails."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bakeoff.utils.machine import package_version

STATUSES = ("completed", "failed", "interrupted")
RECORD_NAME = "results.json"


def write_record(run_dir: str | Path, record: dict[str, Any]) -> Path:
    """Temp file + rename: readers never see half a record, a crash never leaves one.

    Only rank 0 writes: under DDP with one process per SLURM task (or torchrun), every rank runs
    the whole job; the others return the path without touching it.
    """
    from bakeoff.utils.slurm import global_rank

    run_dir = Path(run_dir)
    if global_rank() != 0:
        return run_dir / RECORD_NAME
    run_dir.mkdir(parents=True, exist_ok=True)
    target = run_dir / RECORD_NAME
    fd, tmp = tempfile.mkstemp(dir=run_dir, prefix=".results.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(record, f, indent=2, default=_jsonable)
        f.write("\n")
    os.replace(tmp, target)
    return target


def read_record(run_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / RECORD_NAME).read_text())


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def git_sha(cwd: str | Path | None = None) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment(cwd: str | Path | None = None) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "torch": package_version("torch"),
        "lightning": package_version("lightning"),
        "transformers": package_version("transformers"),
        "timm": package_version("timm"),
        "bakeoff": package_version("bakeoff"),
        "git_sha": git_sha(cwd),
        "platform": platform.platform(),
    }
