"""Is a `results.json` a run record? Checked against the typed schema (bakeoff.record.schema)
before a comparison uses it.

A record must have a known status and the sections every run writes (overrides, model, data,
monitor, metrics); each field present must have the schema's type; a completed record must hold
metrics, every one a finite number (a run writes a non-finite value as null, and a run with one
is failed, never completed). `problem(record)` names the first thing wrong, or None. The
comparison lists such a job as `invalid` with its path and that problem: it is never an empty
row and never silently left out of the selection.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from bakeoff.record.schema import Record

STATUSES = ("completed", "failed", "interrupted", "paused")
REQUIRED = ("status", "overrides", "model", "data", "monitor", "metrics")


def _type_problem(value: Any, hint: Any, where: str) -> str | None:
    """What is wrong with `value` for the annotation `hint`, else None (None is always allowed)."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        problems = [_type_problem(value, a, where) for a in options]
        return None if any(p is None for p in problems) else problems[0]
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            return f"{where} is a {type(value).__name__}, not an object"
        hints = typing.get_type_hints(hint)
        for f in dataclasses.fields(hint):
            if f.name in value:
                found = _type_problem(value[f.name], hints[f.name], f"{where}.{f.name}")
                if found:
                    return found
        return None
    base = origin or hint
    expected = {int: (int,), float: (int, float), str: (str,), list: (list,), dict: (dict,)}
    allowed = expected.get(base)
    if allowed is None:  # Any
        return None
    if isinstance(value, bool) or not isinstance(value, allowed):
        return f"{where} is {json_type(value)}, not {json_name(base)}"
    return None


def json_type(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "a list" if isinstance(value, list) else "an object"
    )


def json_name(kind: type) -> str:
    names = {
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }
    return names[kind]


def problem(record: Any) -> str | None:
    """The first way `record` is not a run record, else None."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not a record"
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        return f"required field '{missing[0]}' missing"
    if record["status"] not in STATUSES:
        return f"status {record['status']!r} is none of {', '.join(STATUSES)}"
    hints = typing.get_type_hints(Record)
    for f in dataclasses.fields(Record):
        if f.name in record:
            found = _type_problem(record[f.name], hints[f.name], f.name)
            if found:
                return found
    metrics = record["metrics"]
    for split, values in metrics.items():
        if not isinstance(values, dict):
            return f"metrics.{split} is {json_type(values)}, not an object"
    if record["status"] != "completed":
        return None
    values = {f"metrics.{split}.{name}": v for split, d in metrics.items() for name, v in d.items()}
    if not values:
        return "a completed record without metrics"
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{key} is {'null' if value is None else json_type(value)}, not a number"
        if not math.isfinite(value):
            return f"{key} is {value} (not finite) in a completed record"
    return None
