"""Read offline W&B runs back from their `.wandb` files, the way `wandb sync` would see them.

A `.wandb` file is W&B's transaction log: a 7-byte header (":W&B", magic 0xBEE1, version 0), then
LevelDB-log blocks of 32 KiB holding protobuf `Record`s, each chunk behind a 7-byte header (crc32,
length, type FULL/FIRST/MIDDLE/LAST). wandb >= 0.19 no longer ships a Python reader, so the tests
carry this one: it checks every chunk's checksum, so a test never passes on a misread file.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

HEADER = struct.Struct("<4sHB")  # ident, magic, version
CHUNK = struct.Struct("<IHB")  # crc32, length, type
BLOCK = 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: str | Path):
    """Yield every `wandb_internal_pb2.Record` in a .wandb file."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    ident, magic, version = HEADER.unpack_from(data, 0)
    assert (ident, magic, version) == (b":W&B", 0xBEE1, 0), f"not a .wandb file: {path}"
    pos, pending = HEADER.size, b""
    while pos + CHUNK.size <= len(data):
        left_in_block = BLOCK - pos % BLOCK
        if left_in_block < CHUNK.size:  # block tail too short for a header: zero padding
            pos += left_in_block
            continue
        crc, length, kind = CHUNK.unpack_from(data, pos)
        if kind == 0 and length == 0:  # zero fill (a file still being written)
            break
        body = data[pos + CHUNK.size : pos + CHUNK.size + length]
        assert zlib.crc32(body, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF == crc, f"bad crc in {path}"
        pos += CHUNK.size + length
        if kind == FULL:
            pending = b""
            message = body
        elif kind == FIRST:
            pending = body
            continue
        elif kind == MIDDLE:
            pending += body
            continue
        elif kind == LAST:
            message, pending = pending + body, b""
        else:
            raise AssertionError(f"unknown chunk type {kind} in {path}")
        record = pb.Record()
        record.ParseFromString(message)
        yield record


@dataclass
class OfflineRun:
    path: Path
    run_id: str
    project: str
    group: str
    job_type: str
    display_name: str
    tags: list[str]
    config_keys: set[str] = field(default_factory=set)
    history: dict[str, str] = field(default_factory=dict)  # key -> last value (JSON text)
    summary: dict[str, str] = field(default_factory=dict)  # key -> value (JSON text)
    exit_code: int | None = None


def read_run(path: str | Path) -> OfflineRun:
    """The run's identity (id, group, job type, name, tags) and what it logged.

    Nested keys (a table's or an image's fields) are joined with "/".
    """
    run = None
    config, history, summary, exit_code = set(), {}, {}, None
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            r = record.run
            run = (r.run_id, r.project, r.run_group, r.job_type, r.display_name, list(r.tags))
            config |= {item.key for item in r.config.update}
        elif kind == "config":
            config |= {item.key for item in record.config.update}
        elif kind == "history":
            history |= {_key(item): item.value_json for item in record.history.item}
        elif kind == "summary":
            summary |= {_key(item): item.value_json for item in record.summary.update}
        elif kind == "exit":
            exit_code = record.exit.exit_code
    assert run is not None, f"no run record in {path}"
    return OfflineRun(Path(path), *run, config, history, summary, exit_code)


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def offline_runs(root: str | Path) -> list[OfflineRun]:
    """Every offline run under `root` (`latest-run` links skipped), in path order."""
    files = sorted(p for p in Path(root).rglob("offline-run-*/*.wandb"))
    return [read_run(p) for p in files]
