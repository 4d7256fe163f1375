"""Pivot: configurations x one field (e.g. backbone x dataset), with mean score and mean rank."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from bakeoff.results.collect import Job, config_labels, label_value, record_field
from bakeoff.results.tables import markdown_table


def _pivot_paths(pivot: str) -> tuple[str, str]:
    """(record field holding the pivot value, override key that sets it)."""
    if pivot in ("data", "model"):
        return f"{pivot}.name", pivot
    key = pivot.removeprefix("config.")
    return pivot, key.removesuffix(".name") if key.endswith(".name") else key


def pivot_table(
    jobs: Sequence[Job],
    runs: pd.DataFrame,
    pivot: str,
    column: str,
    mode: str,
    group_by: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows (configs without the pivot field) x pivot values: mean `column` over completed runs,
    plus each row's mean score and mean rank across the pivot values (rank 1 = best)."""
    field_path, override_key = _pivot_paths(pivot)
    rows, _ = config_labels(jobs, group_by, drop={override_key, field_path})
    cells = pd.DataFrame(
        {
            "row": rows,
            "pivot": [label_value(record_field(job.record, field_path)) for job in jobs],
            "value": runs.get(column, math.nan),
            "status": runs["status"],
        }
    )
    cells = cells[(cells["status"] == "completed") & cells["value"].notna()]
    if cells.empty:
        return pd.DataFrame()
    matrix = cells.pivot_table(index="row", columns="pivot", values="value", aggfunc="mean")
    matrix.columns = [str(c) for c in matrix.columns]
    ranks = matrix.rank(axis=0, ascending=(mode == "min"), method="average")
    matrix["mean"] = matrix.mean(axis=1)
    matrix["mean rank"] = ranks.mean(axis=1)
    matrix = matrix.sort_values(["mean rank", "mean"], ascending=[True, mode == "min"])
    matrix.index.name = "config"
    return matrix.reset_index()


def pivot_markdown(matrix: pd.DataFrame, column: str) -> str:
    shown = matrix.copy()
    for c in shown.columns[1:]:
        digits = 2 if c == "mean rank" else 3
        shown[c] = [f"{v:.{digits}f}" if math.isfinite(v) else "" for v in shown[c]]
    note = f"Mean {column} over completed runs; mean rank across columns (1 = best)."
    return f"# bakeoff pivot: {column}\n\n{markdown_table(shown)}\n\n{note}\n"
