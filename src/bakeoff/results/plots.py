"""Comparison plots as PNG files, fit for a paper.

matplotlib is imported inside the functions (comparisons without plots never pay for it), and
figures are built with `matplotlib.figure.Figure`, which renders through the Agg canvas without
pyplot: no GUI backend is selected and a notebook's backend is left alone. Each plot is skipped
(returns None) when the runs did not record the data it needs.

Readability rules, which tests/test_figures.py checks on a 16-configuration comparison:
- configurations are named by what differs between them (`efficientnet_lite0 · linear_probe`),
  in a legend outside the axes, never as free text beside the points (which collides);
- colour says the backbone, the same colour in every plot of a comparison (one palette built from
  all its configurations), the marker says the fine-tune strategy; legend entries name both
  (`minilm · linear_probe`, then any other override that differs); the selected configuration is
  drawn larger, on top, with a black edge and marked ★;
- "mean ± std (n=…)" on an axis only where a configuration has more than one run;
- learning curves have integer epoch ticks, also with one epoch;
- numeric ticks read 2.2M, not 2.2×10^6: a log axis only when the values span a decade or more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
SELECTED = "★"


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained", dpi=120)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _err(value: Any) -> float:
    return float(value) if _finite(value) else 0.0  # one seed: no error bar rather than NaN


def si(value: float, _pos: Any = None) -> str:
    """2200000 -> 2.2M, 0.5 -> 0.5: tick labels that read like the leaderboard's."""
    if not _finite(value):
        return ""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.3g}"


def short_label(label: str) -> str:
    """`model=efficientnet_lite0 finetune=linear_probe` -> `efficientnet_lite0 · linear_probe`: the
    values of the overrides that differ (the leaderboard already dropped the shared ones)."""
    parts = [p.split("=", 1)[1] if "=" in p else p for p in str(label).split()]
    return " · ".join(parts) or str(label)


def _styles_from_labels(labels: Sequence[str]) -> dict[str, tuple[str, str]]:
    """config -> (backbone, strategy) read from `model=` / `finetune=` overrides when no record
    fields were given."""
    out = {}
    for label in labels:
        items = dict(p.split("=", 1) for p in str(label).split() if "=" in p)
        out[label] = (items.get("model", ""), items.get("finetune", ""))
    return out


class Style:
    """Colour per backbone, marker per fine-tune strategy: built once from every configuration of
    a comparison and shared by all its figures, so a backbone keeps its colour everywhere."""

    def __init__(self, labels: Sequence[str], styles: Mapping[str, tuple[str, str]] | None = None):
        from matplotlib import colormaps

        labels = list(dict.fromkeys(labels))
        self.styles = {**_styles_from_labels(labels), **(styles or {})}
        backbones = list(dict.fromkeys(self.styles[c][0] for c in labels))
        strategies = list(dict.fromkeys(self.styles[c][1] for c in labels))
        palette = colormaps["tab10" if len(backbones) <= 10 else "tab20"]
        self.colour = {b: palette(i % palette.N) for i, b in enumerate(backbones)}
        self.marker = {s: MARKERS[i % len(MARKERS)] for i, s in enumerate(strategies)}
        # Several configs of one backbone and strategy (e.g. an LR grid): told apart by the legend.

    def of(self, label: str) -> tuple[Any, str]:
        backbone, strategy = self.styles[label]
        return self.colour[backbone], self.marker[strategy]

    def name(self, label: str, best: str | None) -> str:
        """`backbone · strategy`, then the other values that differ; ★ for the selected one."""
        backbone, strategy = self.styles.get(label, ("", ""))
        named = [v for v in (backbone, strategy) if v]
        rest = [v for v in short_label(label).split(" · ") if v not in named]
        text = " · ".join([*named, *rest]) or short_label(label)
        return f"{SELECTED} {text}" if label == best else text


def _style(
    labels: Sequence[str], styles: Mapping[str, tuple[str, str]] | None, shared: Style | None
) -> Style:
    return shared if shared is not None else Style(labels, styles)


def spread_label(ns: Sequence[Any]) -> str:
    """ "mean ± std (n=3)" where a configuration has several runs, "n=1" where none has."""
    counts = sorted({int(n) for n in ns if _finite(n) and n > 0})
    if not counts or counts[-1] <= 1:
        return "n=1"
    n = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    return f"mean ± std (n={n})"


def _legend_outside(fig: Any, ax: Any, title: str | None = None) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        columns = 1 if len(handles) <= 18 else 2
        fig.legend(
            handles, labels, loc="outside right upper", fontsize=8, title=title, ncols=columns
        )


def _readable_x(ax: Any, values: Sequence[float], log_x: bool) -> None:
    """Log scale only across a decade or more; SI tick labels either way, few enough to fit."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    positive = [v for v in values if v > 0]
    spans_decade = bool(positive) and max(positive) / min(positive) >= 10
    if log_x and spans_decade and len(positive) == len(values):
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10))
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        if values:
            low, high = min(values), max(values)
            pad = (high - low) * 0.08 or abs(high) * 0.05 or 1.0
            ax.set_xlim(low - pad, high + pad)
    ax.xaxis.set_major_formatter(FuncFormatter(si))


# --------------------------------------------------------------------------- figures


def metric_by_config_figure(
    table: pd.DataFrame,
    metric: str,
    best: str | None = None,
    styles: Mapping[str, tuple[str, str]] | None = None,
    shared: Style | None = None,
) -> Any | None:
    """Val and test mean ± std of the selection metric per configuration, in leaderboard order:
    the backbone's colour, val light and test solid."""
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
    from matplotlib.patches import Patch

    style = _style(list(rows["config"]), styles, shared)
    colours = [style.of(c)[0] for c in rows["config"]]
    fig = _figure(7, 1.4 + 0.32 * len(rows) * len(bars))
    ax = fig.subplots()
    height = 0.8 / len(bars)
    positions = range(len(rows))
    alpha = {"val": 0.45, "test": 1.0}
    for i, (split, mean, std) in enumerate(bars):
        ax.barh(
            [p + i * height for p in positions],
            [v if _finite(v) else 0.0 for v in rows[mean]],
            height=height,
            xerr=[_err(v) for v in rows[std]],
            color=colours,
            alpha=alpha[split],
            capsize=3,
        )
    ax.set_yticks([p + height * (len(bars) - 1) / 2 for p in positions])
    ax.set_yticklabels([style.name(c, best) for c in rows["config"]], fontsize=8)
    ax.invert_yaxis()  # best (first row) on top
    spread = spread_label(rows["n"]) if "n" in rows else "n=1"
    ax.set_xlabel(f"{name} ({spread}; {SELECTED} selected)")
    grey = "#555555"
    handles = [Patch(color=grey, alpha=alpha[split], label=split) for split, _, _ in bars]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, title="colour: backbone")
    return fig


def quality_vs_figure(
    table: pd.DataFrame,
    metric: str,
    x_column: str,
    x_label: str,
    best: str | None = None,
    log_x: bool = False,
    styles: Mapping[str, tuple[str, str]] | None = None,
    shared: Style | None = None,
) -> Any | None:
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
    style = _style(list(rows["config"]), styles, shared)
    fig = _figure(7.5, 4.5)
    ax = fig.subplots()
    for label, x, y, err in zip(rows["config"], rows[x_column], rows[mean], rows[std], strict=True):
        colour, marker = style.of(label)
        selected = label == best
        ax.errorbar(
            [x],
            [y],
            yerr=[_err(err)],
            fmt=marker,
            color=colour,
            markersize=11 if selected else 7,
            markeredgecolor="black" if selected else colour,
            markeredgewidth=1.8 if selected else 0.8,
            capsize=3,
            label=style.name(label, best),
            zorder=4 if selected else 2,
        )
    _readable_x(ax, [float(v) for v in rows[x_column]], log_x)
    ax.set_xlabel(x_label)
    ax.set_ylabel(f"test {name} ({spread_label(rows['n']) if 'n' in rows else 'n=1'})")
    ax.grid(alpha=0.3)
    _legend_outside(fig, ax, title="colour: backbone, marker: fine-tune")
    return fig


def learning_curves_figure(
    histories: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]],
    metric: str,
    best: str | None = None,
    styles: Mapping[str, tuple[str, str]] | None = None,
    shared: Style | None = None,
) -> Any | None:
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
    style = _style(list(curves), styles, shared)
    fig = _figure(7.5, 4.5)
    ax = fig.subplots()
    for label, curve in curves.items():
        colour, marker = style.of(label)
        selected = label == best
        ax.plot(
            curve.index,
            curve.values,
            marker=marker,
            color=colour,
            linewidth=2.5 if selected else 1.2,
            markeredgecolor="black" if selected else colour,
            label=style.name(label, best),
            zorder=4 if selected else 2,  # the selected curve on top of any it overlaps
        )
    from matplotlib.ticker import MaxNLocator

    epochs = sorted({int(e) for curve in curves.values() for e in curve.index})
    if len(epochs) <= 10:
        ax.set_xticks(range(epochs[0], epochs[-1] + 1))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)
    ax.set_xlabel("epoch")
    n_runs = max(len(r) for r in histories.values() if r)
    ax.set_ylabel(f"{metric} (mean over seeds, n={n_runs})" if n_runs > 1 else metric)
    ax.grid(alpha=0.3)
    _legend_outside(fig, ax, title="colour: backbone, marker: fine-tune")
    return fig


def delta_heatmap_figure(matrix: pd.DataFrame, title: str = "Δ = ours − paper") -> Any | None:
    """Backbones (rows) x published cells (columns), coloured by Δ, the value written in each."""
    if matrix.empty:
        return None
    import numpy as np

    values = matrix.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    limit = max(float(np.abs(finite).max()), 1.0)
    n_rows, n_cols = values.shape
    fig = _figure(max(4.5, 1.6 + 0.9 * n_cols), max(2.4, 1.6 + 0.45 * n_rows))
    ax = fig.subplots()
    image = ax.imshow(values, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(n_cols))
    ax.set_xticklabels([str(c) for c in matrix.columns], rotation=90, fontsize=8)
    ax.set_yticks(range(n_rows))
    ax.set_yticklabels([str(i) for i in matrix.index], fontsize=8)
    for r in range(n_rows):
        for c in range(n_cols):
            if math.isfinite(values[r, c]):
                dark = abs(values[r, c]) > 0.6 * limit
                ax.text(
                    c,
                    r,
                    f"{values[r, c]:+.1f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if dark else "black",
                )
    fig.colorbar(image, ax=ax, label="Δ (points)")
    ax.set_title(title, fontsize=10)
    return fig


# --------------------------------------------------------------------------- files


def _save(fig: Any | None, path: Path) -> Path | None:
    if fig is None:
        return None
    fig.savefig(path)
    return path


def delta_heatmap(matrix: pd.DataFrame, path: Path) -> Path | None:
    return _save(delta_heatmap_figure(matrix), path)


def all_figures(
    table: pd.DataFrame,
    histories: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]],
    metric: str,
    best: str | None = None,
    styles: Mapping[str, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """file stem -> Figure, for every comparison plot whose data the runs recorded; one Style
    (colour per backbone, marker per strategy) for all of them."""
    shared = Style([*table["config"], *histories], styles)
    figures = {
        "metric_by_config": metric_by_config_figure(table, metric, best, styles, shared),
        "quality_vs_params": quality_vs_figure(
            table, metric, "params_total", "parameters", best, True, styles, shared
        ),
        "quality_vs_fit_time": quality_vs_figure(
            table, metric, "fit_s", "fit time (s)", best, False, styles, shared
        ),
        "learning_curves": learning_curves_figure(histories, metric, best, styles, shared),
    }
    return {stem: fig for stem, fig in figures.items() if fig is not None}


def plot_all(
    table: pd.DataFrame,
    histories: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]],
    metric: str,
    out_dir: str | Path,
    best: str | None = None,
    styles: Mapping[str, tuple[str, str]] | None = None,
) -> list[Path]:
    """Every comparison plot whose data the runs recorded; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, fig in all_figures(table, histories, metric, best, styles).items():
        fig.savefig(out / f"{stem}.png")
        written.append(out / f"{stem}.png")
    return written
