"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Everything a run or a comparison leaves behind (records, predictions, checkpoints, tables, plots)
is written to a temporary file in the same folder and renamed over the target (`os.replace`,
atomic on POSIX within one file system). A crash or a kill mid-write leaves the earlier file
whole, and a comparison of a sweep still running never reads a record being written. The
temporary file is created with `open(..., "x")`, so it gets the normal mode of a new file under
the user's umask (0644 under 022), not `mkstemp`'s 0600.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path


def temporary_sibling(path: Path) -> Path:
    """A fresh name beside `path`, hidden and unique across processes and threads."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path to write `path`'s content to; renamed over `path` on success,
    removed on failure. For writers that want a path (savefig, to_csv, torch.save)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes(path: str | Path, data: bytes) -> Path:
    """`data` into `path`, atomically, flushed to disk before the rename."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return path


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))
