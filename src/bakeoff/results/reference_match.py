"""Published tables beside ours, part 2: matching sweep rows to a reference's cells, Δ, tolerance.

Completed jobs are grouped by (our model, our data set, the setting fields a reference names,
e.g. `finetune.strategy`); within a group each configuration (the overrides minus seed, model
and data) gets mean ± std over its seeds, and the configuration with the best mean of the jobs'
own monitored validation metric is selected, as the papers selected on dev. A cell then reads
that configuration's `<split>/<metric>`. Δ = ours − paper, in the paper's units; a cell is
flagged when |Δ| exceeds max(k · std of our seeds, a number of points).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bakeoff.results.collect import Job, config_labels, label_value, record_field
from bakeoff.results.reference import Cell, Reference
from bakeoff.results.stats import summarize

TOLERANCE_POINTS = 1.0  # |Δ| up to this many points (the paper's unit) is within tolerance
TOLERANCE_STD = 2.0  # ... or up to this many standard deviations of our seeds, if larger
WITHIN, OUTSIDE = "within", "OUTSIDE"


# --------------------------------------------------------------------------- our side


@dataclass
class _Config:
    """One configuration of one (model, data, setting) group: its completed jobs."""

    label: str
    records: list[dict[str, Any]] = field(default_factory=list)

    def values(self, split: str, metric: str) -> list[float]:
        out = []
        for record in self.records:
            split_metrics = (record.get("metrics") or {}).get(split) or {}
            value = split_metrics.get(metric, split_metrics.get(f"{split}/{metric}"))
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out.append(float(value))
        return out

    def selection_score(self) -> tuple[float, str]:
        """Mean of the monitored val metric, signed so that larger is better."""
        monitor = record_field(self.records[0], "monitor.metric") or "val/acc"
        mode = record_field(self.records[0], "monitor.mode") or "max"
        split, _, name = str(monitor).partition("/")
        values = self.values(split or "val", name)
        if not values:
            return -math.inf, monitor
        mean = sum(values) / len(values)
        return (mean if mode == "max" else -mean), monitor


def _group_key(record: dict[str, Any], fields: Sequence[str]) -> tuple[str, ...]:
    model = label_value(record_field(record, "model.name"))
    data = label_value(record_field(record, "data.name"))
    return (model, data, *(label_value(record_field(record, f)) for f in fields))


def _our_groups(
    jobs: Sequence[Job], fields: Sequence[str]
) -> dict[tuple[str, ...], dict[str, _Config]]:
    """(model, data, setting values) -> configuration label -> its completed jobs."""
    by_key: dict[tuple[str, ...], list[Job]] = {}
    for job in jobs:
        if job.status == "completed":
            by_key.setdefault(_group_key(job.record, fields), []).append(job)
    groups: dict[tuple[str, ...], dict[str, _Config]] = {}
    for key, members in by_key.items():
        # Labelled within the group: what its configurations share (the data files, the
        # experiment) is no part of any one's name.
        labels, _ = config_labels(members, drop={"model", "data", *fields})
        configs = groups.setdefault(key, {})
        for job, label in zip(members, labels, strict=True):
            configs.setdefault(label, _Config(label)).records.append(job.record)
    return groups


def _selected(configs: Mapping[str, _Config]) -> tuple[_Config, str]:
    scored = sorted(configs.values(), key=lambda c: (-c.selection_score()[0], c.label))
    return scored[0], scored[0].selection_score()[1]


# --------------------------------------------------------------------------- comparing


@dataclass
class ReferenceComparison:
    """Reference cells beside our selected configurations; what matched nothing, said."""

    table: pd.DataFrame  # one row per reference cell that matched a group of our runs
    unmatched_cells: list[str]
    unmatched_rows: list[str]
    references: list[Reference]
    tolerance_points: float
    tolerance_std: float

    @property
    def empty(self) -> bool:
        return self.table.empty


def _cell_key(ref: Reference, cell: Cell, fields: Sequence[str]) -> tuple[str, ...]:
    setting = ref.settings.get(cell.setting or "", {})
    data = ref.datasets[cell.dataset].get("data", cell.dataset)
    model = ref.models.get(cell.model, cell.model)
    return (model, str(data), *(str(setting.get(f, "?")) for f in fields))


def compare_reference(
    jobs: Sequence[Job],
    references: Sequence[Reference],
    tolerance_points: float = TOLERANCE_POINTS,
    tolerance_std: float = TOLERANCE_STD,
) -> ReferenceComparison:
    """Every reference cell beside our runs: paper, ours (mean ± std, n), Δ, tolerance, flag."""
    if tolerance_points < 0 or tolerance_std < 0:
        raise ReferenceError("tolerances must be >= 0")
    fields = sorted({f for r in references for s in r.settings.values() for f in s})
    groups = _our_groups(jobs, fields)
    rows, unmatched_cells, used = [], [], set()
    for ref in references:
        for cell in ref.cells:
            key = _cell_key(ref, cell, fields)
            split = str(ref.datasets[cell.dataset]["splits"][cell.split])
            name = f"{ref.name}: {cell.model} · {cell.dataset} · {cell.split} {cell.metric}"
            if cell.setting:
                name += f" · {cell.setting}"
            if key not in groups:
                unmatched_cells.append(f"{name} (wants {' '.join(key)}: no completed run)")
                continue
            config, monitor = _selected(groups[key])
            values = config.values(split, cell.metric)
            if not values:
                unmatched_cells.append(
                    f"{name} (runs of {' '.join(key)} recorded no {split}/{cell.metric})"
                )
                continue
            used.add(key)
            s = summarize(values)
            # the source's aggregate: the median of our seeds where it reports medians
            finite = [float(v) for v in values if v is not None and math.isfinite(v)]
            median = statistics.median(finite) if finite else math.nan
            center = median if ref.aggregate == "median" else s.mean
            ours, std = center * ref.scale, s.std * ref.scale
            delta = ours - cell.value
            tolerance = max(tolerance_points, tolerance_std * std if math.isfinite(std) else 0.0)
            rows.append(
                {
                    "reference": ref.name,
                    "model": cell.model,
                    "dataset": cell.dataset,
                    "setting": cell.setting or "",
                    "split": cell.split,
                    "metric": cell.metric,
                    "paper": cell.value,
                    "ours_mean": ours,
                    "ours_std": std,
                    "n": s.n,
                    "aggregate": ref.aggregate,
                    "delta": delta,
                    "tolerance": tolerance,
                    "flag": WITHIN if abs(delta) <= tolerance else OUTSIDE,
                    "our_model": key[0],
                    "our_data": key[1],
                    "our_split": split,
                    "config": config.label,
                    "selected_on": monitor,
                    "citation": f"{cell.citation}; {ref.source()}",
                }
            )
    unmatched_rows = [
        f"{' '.join(key)} ({len(configs)} configuration(s))"
        for key, configs in sorted(groups.items())
        if key not in used
    ]
    return ReferenceComparison(
        pd.DataFrame(rows),
        unmatched_cells,
        unmatched_rows,
        list(references),
        tolerance_points,
        tolerance_std,
    )
