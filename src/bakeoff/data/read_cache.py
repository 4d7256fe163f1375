"""The read cache: a data source's parsed splits on disk, beside the token cache.

Reading a table means pandas (with pyarrow: ~0.5 s to import) and parsing it; the splits that
come out are plain lists of texts and labels. A sweep's jobs read the same data again and
again, and with the token cache (`data.cache_dir`) nothing else in the job needs pandas before
the first step. So the parsed splits of a source whose data can be identified cheaply are kept
as a pickle, keyed by the source's settings and its files' sizes and content hashes; a
changed file, setting or package version is a new key, so a stale entry is never read.

Everything that checks the data (bad rows, labels, the split) still runs on what is read from
here: only the parsing is skipped. Written atomically, with its key and a checksum
(bakeoff.utils.sealed); an unreadable, truncated or swapped entry is one warning, then read again
from the source and rewritten. The pickle holds only what bakeoff wrote there (lists, strings,
numbers, `RawSplit`), under the user's own cache dir, as the token cache's files are.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from pathlib import Path
from typing import Any

from bakeoff.data.raw import RawSplit
from bakeoff.utils.sealed import read_sealed, write_sealed

log = logging.getLogger(__name__)

# Bump when what a source's `load()` returns changes shape: older entries are then not read.
FORMAT = 2  # 2: sealed files (key + checksum, bakeoff.utils.sealed)


def file_identity(path: str | Path) -> dict[str, Any]:
    """What says a data file changed: its path, size and content hash. Hashing reads the bytes
    (~1 GB/s), far cheaper than parsing them, and unlike a modification time it cannot miss a
    same-size edit made within a file system's timestamp granularity."""
    path = Path(path)
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path.resolve()), "size": path.stat().st_size, "sha256": digest.hexdigest()}


def cache_path(cache_dir: str | Path, identity: dict[str, Any]) -> Path:
    blob = json.dumps({"format": FORMAT, **identity}, sort_keys=True, default=str)
    return Path(cache_dir) / "read" / f"{hashlib.sha256(blob.encode()).hexdigest()[:32]}.pkl"


def load_splits(source, cache_dir: str | Path | None) -> dict[str, RawSplit]:
    """`source.load()`, from the read cache where the source can say what its data is
    (`source.cache_identity()`, None: it cannot) and a cache dir is set."""
    identity_of = getattr(source, "cache_identity", None)
    identity = identity_of() if cache_dir and identity_of is not None else None
    if identity is None or not cache_dir:
        return source.load()
    path = cache_path(cache_dir, identity)
    key = path.stem
    raw = read_sealed(path, key, "read cache", _parse)
    if raw is not None:
        return raw
    raw = source.load()
    write_sealed(path, key, pickle.dumps(raw, protocol=pickle.HIGHEST_PROTOCOL), "read cache")
    return raw


def _parse(payload: bytes) -> dict[str, RawSplit]:
    raw = pickle.loads(payload)
    if not (isinstance(raw, dict) and all(isinstance(v, RawSplit) for v in raw.values())):
        raise ValueError("it holds no splits")
    return raw
