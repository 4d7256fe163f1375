"""What a ranking leaves in its output dir: rank.md / rank.csv, rank.json, a plot, a W&B run.

The plot puts each backbone's score against its size (params or forward FLOPs), one panel per
score, drawn like the comparison plots (results/plots.py: a legend outside the axes, SI ticks,
a log axis only over a decade or more).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, Literal, cast

import pandas as pd

from bakeoff.rank.ranking import Ranking, score_column, to_record

log = logging.getLogger(__name__)

TIME_COLUMNS = ("build_s", "forward_s", "logme_s", "knn_s", "probe_s", "total_s")


def _cell(value: Any, column: str) -> str:
    from bakeoff.results.plots import si

    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if column in ("params", "flops_per_sample"):
        return si(float(value))
    if column in TIME_COLUMNS:
        return f"{float(value):.2f}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def ranking_markdown(r: Ranking) -> str:
    from bakeoff.results.tables import markdown_table

    shown = r.table.copy()
    for column in shown.columns:
        shown[column] = [_cell(v, column) for v in shown[column]]
    lines = [f"# Backbone ranking: {r.data}", ""]
    lines += [f"- {s}" for s in r.summary]
    lines += ["", markdown_table(shown, text_columns=("model", "features")), ""]
    lines.append(
        "Columns: logme = LogME of the train features (You et al. 2021); knn_* = val metric of "
        "a cosine kNN on the train features; probe_* = val metric of a logistic-regression "
        "(ridge for regression) probe; *_s = seconds (build: data + weights; forward: the "
        "backbone over train + val, 0 when read from the feature cache)."
    )
    return "\n".join(lines) + "\n"


def ranking_figure(r: Ranking, x: str = "params") -> Any | None:
    """Score against params (or FLOPs) per backbone, one panel per score."""
    from bakeoff.results.plots import MARKERS, _figure, _legend_outside, _readable_x

    x_column = {"params": "params", "flops": "flops_per_sample"}.get(x)
    if x_column is None or x_column not in r.table:
        return None
    rows = r.table[[isinstance(v, (int, float)) and math.isfinite(v) for v in r.table[x_column]]]
    if rows.empty:
        return None
    fig = _figure(4.0 * len(r.scores) + 2.5, 4.0)
    axes = fig.subplots(1, len(r.scores), squeeze=False)[0]
    colours = [f"C{i % 10}" for i in range(len(rows))]
    for ax, score in zip(axes, r.scores, strict=True):
        column = score_column(score, r.metric)
        for i, (_, row) in enumerate(rows.iterrows()):
            top = row["rank"] == 1
            ax.plot(
                [row[x_column]],
                [row[column]],
                MARKERS[i % len(MARKERS)],
                color=colours[i],
                markersize=11 if top else 7,
                markeredgecolor="black" if top else colours[i],
                label=f"{row['rank']}. {row['model']}",
            )
        _readable_x(ax, [float(v) for v in rows[x_column]], log_x=False)
        ax.set_xlabel("backbone params" if x == "params" else "forward FLOPs per example")
        ax.set_ylabel(column if score == "logme" else f"{column} (val)")
        ax.set_title(score)
        ax.grid(alpha=0.3)
    _legend_outside(fig, axes[-1], title=f"rank by {score_column(r.sort_by, r.metric)}")
    return fig


def write_outputs(r: Ranking, out: Path, plot_x: str = "params") -> list[Path]:
    """rank.md, rank.csv, rank.json and rank_vs_<x>.png in `out`."""
    from bakeoff.utils.atomic import atomic_path

    out.mkdir(parents=True, exist_ok=True)
    files = []
    with atomic_path(out / "rank.md") as tmp:
        tmp.write_text(ranking_markdown(r))
    with atomic_path(out / "rank.csv") as tmp:
        r.table.to_csv(tmp, index=False, float_format="%.6g")
    with atomic_path(out / "rank.json") as tmp:
        tmp.write_text(json.dumps(to_record(r), indent=2) + "\n")
    files += [out / "rank.md", out / "rank.csv", out / "rank.json"]
    try:
        fig = ranking_figure(r, plot_x)
        if fig is not None:
            path = out / f"rank_vs_{plot_x}.png"
            fig.savefig(path)
            files.append(path)
    except Exception as exc:  # a broken plot must not cost the tables already written
        log.warning("plot skipped: %s: %s", type(exc).__name__, exc)
    return files


def log_wandb(r: Ranking, cfg, out: Path, files: list[Path]) -> str | None:
    """One W&B run (job_type "rank", its own group "rank-<output dir>"): the table and the plot.
    Settings (project, entity, mode, tags) from the config's wandb logger; none: no run."""
    from bakeoff.loggers.wandb import WANDB_TARGETS, resolve_mode

    loggers = cfg.get("logger") or {}
    wb = next(
        (c for c in loggers.values() if c is not None and c.get("_target_") in WANDB_TARGETS), None
    )
    if wb is None:
        return None
    mode = resolve_mode(wb.get("mode") or "auto")
    if mode == "disabled":
        return None
    import wandb

    run = wandb.init(
        project=wb.get("project") or "bakeoff",
        entity=wb.get("entity"),
        dir=str(out),
        name=f"rank {r.data}",
        group=f"rank-{out.name}",
        job_type="rank",
        tags=[str(t) for t in wb.get("tags") or []] or None,
        mode=cast(Literal["online", "offline", "disabled"], mode),
        reinit="finish_previous",
        config={"data": r.data, "task": r.task, "sort_by": r.sort_by, "scores": r.scores},
    )
    try:
        table = r.table.astype({c: str for c in ("model", "features") if c in r.table})
        logged: dict[str, Any] = {"rank/table": wandb.Table(dataframe=pd.DataFrame(table))}
        logged.update({f"rank/{p.stem}": wandb.Image(str(p)) for p in files if p.suffix == ".png"})
        run.log(logged)
        run.summary.update({"top": r.table.iloc[0]["model"], "summary": "\n".join(r.summary)})
        return run.id
    finally:
        run.finish()
