"""Comparison plots as PNG files.

matplotlib is imported inside the functions (comparisons without plots never pay for it), and
figures are built with `matplotlib.figure.Figure`, which renders through the Agg canvas without
pyplot: no GUI backend is selected and a notebook's backend is left alone. Each plot is skipped
(returns None) when the runs did not record the data it needs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained", dpi=120)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _err(value: Any) -> float:
    return float(value) if _finite(value) else 0.0  # one seed: no error bar rather than NaN


def _name(label: str, best: str | None) -> str:
    return f"{label}  (selected)" if label == best else label


def metric_by_config(
    table: pd.DataFrame, metric: str, path: Path, best: str | None = None
) -> Path | None:
    """Val and test mean ± std of the selection metric per configuration, in leaderboard order."""
    name = metric.split("/", 1)[1]
    bars = [
        (split, f"{split}/{name}_mean", f"{split}/{name}_std")
        for split in ("val", "test")
        if f"{split}/{name}_mean" in table
    ]
    if not bars:
        return None
    rows = table[table[[mean for _, mean, _ in bars]].notna().any(axis=1)]
    if rows.empty:
        return None
    fig = _figure(7, 1.2 + 0.45 * len(rows) * len(bars))
    ax = fig.subplots()
    height = 0.8 / len(bars)
    positions = range(len(rows))
    for i, (split, mean, std) in enumerate(bars):
        ax.barh(
            [p + i * height for p in positions],
            [v if _finite(v) else 0.0 for v in rows[mean]],
            height=height,
            xerr=[_err(v) for v in rows[std]],
            label=split,
            capsize=3,
        )
    ax.set_yticks([p + height * (len(bars) - 1) / 2 for p in positions])
    ax.set_yticklabels([_name(c, best) for c in rows["config"]])
    ax.invert_yaxis()  # best (first row) on top
    ax.set_xlabel(f"{name} (mean ± std over seeds)")
    ax.legend(loc="lower right")
    fig.savefig(path)
    return path


def quality_vs(
    table: pd.DataFrame,
    metric: str,
    x_column: str,
    x_label: str,
    path: Path,
    best: str | None = None,
    log_x: bool = False,
) -> Path | None:
    """Test mean ± std of the selection metric against a cost column, one point per config."""
    name = metric.split("/", 1)[1]
    mean, std = f"test/{name}_mean", f"test/{name}_std"
    if mean not in table or x_column not in table:
        return None
    rows = table.loc[
        [_finite(x) and _finite(y) for x, y in zip(table[x_column], table[mean], strict=True)]
    ]
    if rows.empty:
        return None
    fig = _figure(6.5, 4.5)
    ax = fig.subplots()
    ax.errorbar(rows[x_column], rows[mean], yerr=[_err(v) for v in rows[std]], fmt="o", capsize=3)
    for x, y, label in zip(rows[x_column], rows[mean], rows["config"], strict=True):
        ax.annotate(
            _name(label, best), (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8
        )
    if log_x and (rows[x_column] > 0).all():
        ax.set_xscale("log")
    ax.set_xlabel(x_label)
    ax.set_ylabel(f"test {name}")
    ax.grid(alpha=0.3)
    fig.savefig(path)
    return path


def learning_curves(
    histories: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]],
    metric: str,
    path: Path,
    best: str | None = None,
) -> Path | None:
    """`metric` per epoch from each run's recorded history, mean over the config's runs."""
    curves = {}
    for label, runs in histories.items():
        points = [
            (entry["epoch"], entry[metric])
            for run in runs
            for entry in run
            if _finite(entry.get("epoch")) and _finite(entry.get(metric))
        ]
        if points:
            frame = pd.DataFrame(points, columns=["epoch", "value"])
            curves[label] = frame.groupby("epoch")["value"].mean().sort_index()
    if not curves:
        return None
    fig = _figure(6.5, 4.5)
    ax = fig.subplots()
    for label, curve in curves.items():
        ax.plot(curve.index, curve.values, marker="o", label=_name(label, best))
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{metric} (mean over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path)
    return path


def plot_all(
    table: pd.DataFrame,
    histories: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]],
    metric: str,
    out_dir: str | Path,
    best: str | None = None,
) -> list[Path]:
    """Every comparison plot whose data the runs recorded; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [
        metric_by_config(table, metric, out / "metric_by_config.png", best),
        quality_vs(
            table, metric, "params_total", "parameters", out / "quality_vs_params.png", best, True
        ),
        quality_vs(table, metric, "fit_s", "fit time (s)", out / "quality_vs_fit_time.png", best),
        learning_curves(histories, metric, out / "learning_curves.png", best),
    ]
    return [p for p in written if p is not None]
