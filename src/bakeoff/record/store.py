"""The run record `results.json`: one per job, written atomically, also when the job fails."""

from __future__ import annotations

import json
import math
import platform
import subprocess
from pathlib import Path
from typing import Any

from bakeoff.utils.machine import package_version

STATUSES = ("completed", "failed", "interrupted")
RECORD_NAME = "results.json"


def write_record(run_dir: str | Path, record: dict[str, Any]) -> Path:
    """Temp file + rename: readers never see half a record, a crash never leaves one.

    Non-finite numbers (a diverged run's NaN loss) are written as `null`: `NaN` and `Infinity`
    are not JSON, and strict parsers reject the whole file. Only rank 0 writes: under DDP with
    one process per SLURM task (or torchrun), every rank runs the whole job; the others return
    the path without touching it.
    """
    from bakeoff.utils.atomic import write_text
    from bakeoff.utils.slurm import global_rank

    run_dir = Path(run_dir)
    if global_rank() != 0:
        return run_dir / RECORD_NAME
    text = json.dumps(finite(record), indent=2, default=_jsonable, allow_nan=False)
    return write_text(run_dir / RECORD_NAME, text + "\n")


def read_record(run_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / RECORD_NAME).read_text())


def finite(value: Any) -> Any:
    """`value` with every non-finite float (NaN, ±inf; also numpy/torch scalars) made None."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy / torch scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def check_writable(run_dir: str | Path) -> None:
    """Fail now, naming the folder, if the run cannot write there (not after hours of training)."""
    from bakeoff.errors import ConfigError
    from bakeoff.utils.atomic import temporary_sibling
    from bakeoff.utils.writable import unwritable_reason

    run_dir = Path(run_dir)
    reason = unwritable_reason(run_dir)
    if reason is None:
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            probe = temporary_sibling(run_dir / RECORD_NAME)
            probe.touch(exist_ok=False)
            probe.unlink()
        except OSError as err:
            reason = err.strerror or str(err)
    if reason is not None:
        raise ConfigError(
            f"paths.output_dir: cannot write the run dir {run_dir}: {reason} "
            "(choose a writable paths.log_dir=..., or paths.output_dir)"
        )


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
