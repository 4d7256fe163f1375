"""Cache files that verify themselves: each carries its key and a checksum of its content.

Every cache bakeoff keeps on disk (the token cache, the read cache and its kept splits, the
feature cache of linear probes) writes its payload through `write_sealed`:

    bakeoff-sealed-1\\n<key>\\n<sha256 of the payload>\\n<payload>

and reads it through `read_sealed`, which checks the header, the key the reader expects and the
checksum before the payload is parsed. A file that is unreadable, empty, truncated, damaged,
of another format or written for another key (a valid file copied over another one) is one
warning naming the file and what is wrong with it, then the caller builds the entry again and
overwrites it: a cache never fails a run and never feeds it a wrong entry. Writes are atomic
(temp file + rename); a cache that cannot be written costs time, not the run.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

MAGIC = b"bakeoff-sealed-1\n"
T = TypeVar("T")


def seal(key: str, payload: bytes) -> bytes:
    digest = hashlib.sha256(payload).hexdigest()
    return MAGIC + key.encode() + b"\n" + digest.encode() + b"\n" + payload


def unseal(data: bytes, key: str) -> tuple[bytes | None, str | None]:
    """(payload, None), or (None, what is wrong with `data`)."""
    if not data:
        return None, "empty: 0 bytes"
    if not data.startswith(MAGIC):
        return None, "not a bakeoff cache file of this version: no header"
    parts = data[len(MAGIC) :].split(b"\n", 2)
    if len(parts) != 3:
        return None, "truncated: header cut off"
    stored_key, digest, payload = parts
    if stored_key.decode(errors="replace") != key:
        return None, f"it holds another entry: key {stored_key.decode(errors='replace')[:32]}"
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        return None, "truncated or damaged: its checksum does not match"
    return payload, None


def read_sealed(path: Path, key: str, what: str, parse: Callable[[bytes], T]) -> T | None:
    """`parse(payload)` of the cache file at `path`, or None (nothing there; or one warning
    naming the file and its problem, and the caller rebuilds it)."""
    path = Path(path)
    if not path.exists():
        return None
    problem: str | None
    try:
        data = path.read_bytes()
    except OSError as err:
        problem = str(err)
    else:
        payload, problem = unseal(data, key)
        if payload is not None:
            try:
                return parse(payload)
            except Exception as err:  # a payload that passed its checksum but does not parse
                problem = f"{type(err).__name__}: {err}"
    log.warning("%s %s unreadable (%s): building it again", what, path, problem)
    return None


def write_sealed(path: Path, key: str, payload: bytes, what: str) -> None:
    from bakeoff.utils.atomic import write_bytes

    try:
        write_bytes(path, seal(key, payload))
    except OSError as err:  # a read-only or full disk costs time, never the run
        log.warning("could not write %s %s: %s", what, path, err)
