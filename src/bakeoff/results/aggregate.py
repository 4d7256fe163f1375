"""One row per configuration: mean ± std over seeds/folds, and the selection on the val metric."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pandas as pd

from bakeoff import metric_info
from bakeoff.errors import BakeoffError
from bakeoff.results import stats

# Cost columns averaged beside quality: column -> (header, how tables format it: "si" for 1.2M /
# 3.4G, else the number of decimals).
COST: dict[str, tuple[str, str | int]] = {
    "params_total": ("params", "si"),
    "params_trainable": ("trainable", "si"),
    "flops_per_sample": ("FLOPs/sample", "si"),
    "fit_s": ("fit s", 1),
    "train_samples_per_s": ("train samples/s", 1),
    "peak_rss_mb": ("peak RSS MB", 0),
}


def _status_text(statuses: pd.Series, errors: pd.Series) -> str:
    counts = Counter(statuses)
    ok = counts.pop("completed", 0)
    error = next((str(e).strip().splitlines()[0] for e in errors if isinstance(e, str) and e), "")
    error = error if len(error) <= 80 else error[:77] + "..."
    if not ok and set(counts) == {"failed"}:
        return f"failed: {error}" if error else "failed"
    parts = ([f"{ok} ok"] if ok else []) + [f"{n} {status}" for status, n in counts.items()]
    text = ", ".join(parts)
    return f"{text} ({error})" if counts.get("failed") and error else text


def selection_metric(runs: pd.DataFrame, metric: str | None, mode: str | None) -> tuple[str, str]:
    """The val metric (and its mode) to select on: given, else what most records monitored."""
    if metric:
        metric = metric if "/" in metric else f"val/{metric}"
        if not metric.startswith("val/"):
            raise BakeoffError(
                f"selection is on validation metrics: use --metric val/<name>, not {metric!r}"
            )
        recorded = [c for c in runs.columns if c.startswith("val/")]
        if (runs["status"] == "completed").any() and metric not in recorded:
            raise BakeoffError(
                f"no run recorded {metric}; recorded: {', '.join(recorded) or 'none'}"
            )
    else:
        monitored = runs["monitor_metric"].dropna()
        monitored = monitored[monitored.astype(str).str.startswith("val/")]
        if len(monitored):
            metric = Counter(monitored).most_common(1)[0][0]
        else:
            known = [f"val/{m}" for m in metric_info.KNOWN_METRICS if f"val/{m}" in runs.columns]
            metric = known[0] if known else "val/acc"
    if mode:
        if mode not in ("max", "min"):
            raise BakeoffError(f"--mode must be max or min, not {mode!r}")
        return metric, mode
    modes = runs.loc[runs["monitor_metric"] == metric, "monitor_mode"].dropna()
    if len(modes):
        return metric, Counter(modes).most_common(1)[0][0]
    return metric, metric_info.mode(metric)  # no record says which way its monitor went


def aggregate(runs: pd.DataFrame, metric_columns: Sequence[str]) -> pd.DataFrame:
    rows = []
    for label, jobs in runs.groupby("config", sort=False):
        done = jobs[jobs["status"] == "completed"]
        row: dict[str, Any] = {
            "config": label,
            "status": _status_text(jobs["status"], jobs["error"]),
            "n": len(done),
            "n_jobs": len(jobs),
        }
        for column in metric_columns:
            s = stats.summarize(done.get(column, []))
            row[f"{column}_mean"], row[f"{column}_std"], row[f"{column}_ci95"] = (
                s.mean,
                s.std,
                s.ci95,
            )
        for column in COST:
            values = pd.to_numeric(done[column], errors="coerce").dropna()
            row[column] = float(values.mean()) if len(values) else math.nan
        row["dataset"] = ", ".join(sorted({str(d) for d in jobs["dataset"].dropna()}))
        rows.append(row)
    return pd.DataFrame(rows)


def sort_and_select(table: pd.DataFrame, metric: str, mode: str) -> tuple[pd.DataFrame, str | None]:
    """Rows by the val metric (never test), best first; the best config with a val value."""
    key = f"{metric}_mean"
    if key not in table:
        return table.sort_values("config", kind="stable").reset_index(drop=True), None
    table = table.sort_values(
        [key, "config"], ascending=[mode == "min", True], na_position="last", kind="stable"
    ).reset_index(drop=True)
    selectable = table[(table["n"] > 0) & table[key].notna()]
    return table, (str(selectable["config"].iloc[0]) if len(selectable) else None)
