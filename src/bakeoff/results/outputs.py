"""Where a comparison's files go: written whole, and never over an earlier comparison silently.

`compare` writes every table and plot into a staging folder beside the target (`stage`), then
`publish` moves it into place in one rename, so a reader sees the earlier comparison or the new
one, never a mix. The staging folder holds `inputs.json`: a fingerprint of the records compared
(their bytes) and of the options. An earlier comparison with the same fingerprint is replaced
(same inputs, same content); one with other inputs, or one written before fingerprints existed,
is kept beside it as `<name>.1`, `<name>.2`, ... A target folder holding files no comparison
writes (e.g. `--out .`) is refused rather than moved.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bakeoff.errors import BakeoffError
from bakeoff.record.store import RECORD_NAME

log = logging.getLogger(__name__)

MANIFEST = "inputs.json"
# What a comparison writes (tables.py, plots.py, report.py, the race's table, pivot, reference): anything else in a target
# folder is the user's, and the folder is not a comparison to move aside.
OWN_PATTERNS = (
    "leaderboard.*",
    "report.html",
    "race.*",
    "pivot_*",
    "reference*",
    "*.png",
    MANIFEST,
)


def fingerprint(run_dirs: Iterable[Path], options: dict[str, Any]) -> dict[str, Any]:
    """The records compared (sha256 of each results.json; a running job has none) and options."""
    records = {}
    for run_dir in sorted(run_dirs, key=str):
        path = Path(run_dir) / RECORD_NAME
        records[str(Path(run_dir).resolve())] = (
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "running"
        )
    options = json.loads(json.dumps(options, default=str, sort_keys=True))
    digest = hashlib.sha256(json.dumps([records, options], sort_keys=True).encode()).hexdigest()
    return {"fingerprint": digest, "options": options, "records": records}


def stage(final: Path) -> Path:
    """A fresh, empty folder beside `final` to write the comparison into (and the staging
    folders of comparisons that died before publishing removed)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.*.tmp"):
        pid = stale.name.split(".")[-3]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    staging = final.parent / f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    staging.mkdir()
    return staging


def publish(
    staging: Path, final: Path, inputs: dict[str, Any], files: Sequence[Path]
) -> list[Path]:
    """Move the staged comparison to `final`; returns `files` as they are named there.

    Nothing staged (no tables, no plots asked for): nothing changes on disk.
    """
    if not any(staging.iterdir()):
        staging.rmdir()
        return []
    (staging / MANIFEST).write_text(json.dumps(inputs, indent=2, sort_keys=True) + "\n")
    if final.exists():
        _make_room(final, inputs["fingerprint"])
    os.replace(staging, final)
    return [final / Path(f).relative_to(staging) for f in files]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _make_room(final: Path, new_fingerprint: str) -> None:
    """Clear `final` for the new comparison: replace it if its inputs were the same, else keep
    it under the next free versioned name."""
    if not final.is_dir():
        raise BakeoffError(f"comparison output {final} exists and is not a folder")
    foreign = [p.name for p in final.iterdir() if not _is_own(p)]
    if foreign:
        raise BakeoffError(
            f"comparison output {final} holds files a comparison does not write "
            f"({', '.join(sorted(foreign)[:3])}): give --out a new or empty folder"
        )
    earlier = _read_manifest(final / MANIFEST)
    if earlier.get("fingerprint") == new_fingerprint:
        trash = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.old")
        os.replace(final, trash)
        shutil.rmtree(trash, ignore_errors=True)
        return
    n = 1
    while final.with_name(f"{final.name}.{n}").exists():
        n += 1
    kept = final.with_name(f"{final.name}.{n}")
    os.replace(final, kept)
    log.warning(
        "the earlier comparison in %s compared other records or options: kept as %s", final, kept
    )


def _is_own(path: Path) -> bool:
    return path.is_file() and any(path.match(pattern) for pattern in OWN_PATTERNS)


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}
