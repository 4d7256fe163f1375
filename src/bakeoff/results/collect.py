"""Collect the jobs of one or more sweeps: job dirs -> `Job`s -> one DataFrame row per job.

A job dir holds results.json, or (a job still running, or killed before writing it) only what
Hydra wrote before it started (.hydra/overrides.yaml, .hydra/config.yaml). Configuration labels
come from the overrides minus seed/fold repeats, or from record fields with `group_by`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bakeoff.errors import BakeoffError
from bakeoff.metric_info import KNOWN_METRICS
from bakeoff.record.schema import flat_fields
from bakeoff.record.store import RECORD_NAME
from bakeoff.results.validate_record import problem
from bakeoff.utils.overrides import (  # noqa: F401 (REPEAT_KEYS, RUN_CONTROL_KEYS: re-exported)
    REPEAT_KEYS,
    RUN_CONTROL_KEYS,
    configuration,
    override_key,
)

HYDRA_OVERRIDES = Path(".hydra") / "overrides.yaml"
HYDRA_CONFIG = Path(".hydra") / "config.yaml"
DEFAULT_PREDICTIONS = "test_predictions.csv"
SPLITS = ("val", "test")
DEFAULT_CONFIG = "(default)"
INVALID = "invalid"  # the status of a job whose results.json is not a valid record

# load() column -> dotted path in results.json (falls back to the config, see record_field),
# derived from the typed record.
FIELDS = flat_fields()


class NoRunsFoundError(BakeoffError):
    """The given dirs hold no run record and no Hydra job dir."""


class UnreadableRecordError(BakeoffError):
    """A results.json that is not a whole JSON record (truncated, edited)."""


@dataclass
class Job:
    """One job dir: its record (or, while it runs, what Hydra wrote before it started)."""

    run_dir: Path
    record: dict[str, Any]
    status: str
    error: str | None
    overrides: list[str]


def as_paths(dirs: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(dirs, (str, Path)):
        dirs = [dirs]
    return [Path(d) for d in dirs]


def _read_yaml(path: Path) -> Any:
    import yaml  # comes with hydra/omegaconf

    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None


def _read_job(run_dir: Path) -> Job:
    hydra_overrides = (
        _read_yaml(run_dir / HYDRA_OVERRIDES) if (run_dir / ".hydra").is_dir() else None
    )
    hydra_overrides = [str(o) for o in hydra_overrides] if isinstance(hydra_overrides, list) else []
    record_path = run_dir / RECORD_NAME
    if not record_path.is_file():
        config = _read_yaml(run_dir / HYDRA_CONFIG)
        record: dict[str, Any] = {
            "overrides": hydra_overrides,
            "config": config if isinstance(config, dict) else {},
        }
        # Hydra writes config.yaml beside overrides.yaml; without it, seed/fold still show.
        for item in hydra_overrides:
            key, _, value = item.partition("=")
            if override_key(key) in ("seed", "fold") and value:
                record[override_key(key)] = int(value) if value.lstrip("-").isdigit() else value
        note = "no results.json yet (still running, or killed before writing it)"
        return Job(run_dir, record, "running", note, hydra_overrides)
    try:
        record = json.loads(record_path.read_text())
        if not isinstance(record, dict):
            raise ValueError(f"a JSON {type(record).__name__}, not a record")
    except (OSError, ValueError) as exc:
        # Records are written whole (temp file + rename), so this one was cut or changed
        # afterwards: comparing without it would silently change the selection.
        raise UnreadableRecordError(
            f"unreadable record {record_path}: {exc}. Rerun that job, or move its dir out of "
            "the sweep to compare the others"
        ) from None
    overrides = record.get("overrides")
    overrides = [str(o) for o in overrides] if isinstance(overrides, list) else hydra_overrides
    invalid = problem(record)
    if invalid is not None:  # listed, with its path and first problem: never a silent row
        return Job(run_dir, record, INVALID, f"invalid record {record_path}: {invalid}", overrides)
    return Job(
        run_dir, record, str(record.get("status") or "unknown"), record.get("error"), overrides
    )


def find_jobs(dirs: str | Path | Iterable[str | Path]) -> list[Job]:
    """Every job dir under `dirs` (recursively), each once, in path order."""
    paths = as_paths(dirs)
    missing = [str(p) for p in paths if not p.is_dir()]
    if missing:
        raise NoRunsFoundError(f"not a directory: {', '.join(missing)}")
    found: dict[Path, Path] = {}
    for root in paths:
        candidates = [p.parent for p in root.rglob(RECORD_NAME)]
        candidates += [
            p.parent.parent for p in root.rglob("overrides.yaml") if p.parent.name == ".hydra"
        ]
        for run_dir in candidates:
            found.setdefault(run_dir.resolve(), run_dir)
    if not found:
        raise NoRunsFoundError(
            f"no {RECORD_NAME} and no Hydra job dir (.hydra/overrides.yaml) found under: "
            + ", ".join(str(p) for p in paths)
        )
    return [_read_job(found[key]) for key in sorted(found)]


# --------------------------------------------------------------------------- one row per job

_MISSING = object()


def _lookup(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def record_field(record: dict[str, Any], path: str) -> Any:
    """A dotted record field; a job still running only has its config, so look there too."""
    value = _lookup(record, path)
    if value is _MISSING and not path.startswith("config."):
        value = _lookup(record, "config." + path)
    return None if value is _MISSING else value


def label_value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return "?" if value is None else str(value)


def config_labels(
    jobs: Sequence[Job], group_by: Sequence[str] | None = None, drop: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """Configuration label per job, and the overrides shared by all jobs (left out of labels).

    Overrides are compared as sets (order on the command line does not change a config); a label
    keeps the first job's order. Overrides every job shares say nothing about the difference
    between configurations, so they move to the summary, unless that would empty a label.
    """
    drop = set(drop)
    if group_by:
        fields = [f for f in group_by if f not in drop]
        labels = [
            " ".join(f"{f}={label_value(record_field(job.record, f))}" for f in fields) or "(all)"
            for job in jobs
        ]
        return labels, []
    configs = [
        tuple(o for o in configuration(job.overrides) if override_key(o) not in drop)
        for job in jobs
    ]
    shared = set.intersection(*(set(c) for c in configs)) if configs else set()
    if len({frozenset(c) for c in configs}) < 2 or any(set(c) == shared for c in configs):
        shared = set()
    by_key: dict[frozenset[str], str] = {}
    for config in configs:
        by_key.setdefault(
            frozenset(config), " ".join(o for o in config if o not in shared) or DEFAULT_CONFIG
        )
    return [by_key[frozenset(c)] for c in configs], [o for o in configs[0] if o in shared]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _predictions_path(job: Job) -> str | None:
    recorded = record_field(job.record, "paths.predictions")
    candidates = [Path(recorded)] if isinstance(recorded, str) and recorded else []
    candidates = [p if p.is_absolute() else job.run_dir / p for p in candidates]
    candidates.append(job.run_dir / DEFAULT_PREDICTIONS)
    return next((str(p) for p in candidates if p.is_file()), None)


def _row(job: Job, label: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "status": job.status,
        "config": label,
        "error": job.error,
        "overrides": " ".join(job.overrides),
    }
    row.update({column: record_field(job.record, path) for column, path in FIELDS.items()})
    earlier = record_field(job.record, "timing.fit_s_earlier")
    if row.get("fit_s") is not None and earlier:  # a resumed run: all its launches' fit
        row["fit_s"] = float(row["fit_s"]) + float(earlier)
    metrics = job.record.get("metrics") if job.status not in ("running", INVALID) else None
    for split in SPLITS:
        values = (metrics or {}).get(split) or {}
        for name, value in values.items() if isinstance(values, dict) else ():
            name = name.split("/", 1)[1] if name.startswith(f"{split}/") else name
            if _number(value) is not None:
                row[f"{split}/{name}"] = float(value)
    row["predictions"] = _predictions_path(job) if job.status != "running" else None
    row["run_dir"] = str(job.run_dir)
    return row


def ordered_metric_columns(runs: pd.DataFrame, first: str | None = None) -> list[str]:
    """val/* then test/* columns; the selection metric first, then the known ones, then the rest."""
    order = {name: i + 1 for i, name in enumerate(KNOWN_METRICS)}
    if first:
        order[first] = 0
    columns = []
    for split in SPLITS:
        names = [c.split("/", 1)[1] for c in runs.columns if c.startswith(f"{split}/")]
        names.sort(key=lambda n: (order.get(n, len(order) + 1), n))
        columns += [f"{split}/{n}" for n in names]
    return columns


def runs_frame(jobs: Sequence[Job], labels: Sequence[str]) -> pd.DataFrame:
    runs = pd.DataFrame([_row(job, label) for job, label in zip(jobs, labels, strict=True)])
    front = ["status", "config", "seed", "fold", "model", "dataset"]
    metrics = ordered_metric_columns(runs)
    rest = [c for c in runs.columns if c not in front + metrics + ["run_dir"]]
    return runs[front + metrics + rest + ["run_dir"]]


def load(
    dirs: str | Path | Iterable[str | Path], group_by: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per job under `dirs`: status, config (the group label), seed, fold, val/* and
    test/* metrics, cost (params_total, flops_per_sample, fit_s, peak_rss_mb, ...), run_dir."""
    jobs = find_jobs(dirs)
    labels, _ = config_labels(jobs, split_list(group_by))
    return runs_frame(jobs, labels)


def split_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item and item.strip()]
