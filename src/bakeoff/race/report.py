"""The race in the leaderboard: each configuration's epoch reached and val there, the
eliminated ones marked, and the compute spent beside what the full grid would have cost.

Read from `<sweep dir>/halving.json` (bakeoff.race.state) and the jobs' records. The summary
lines go into the leaderboard (markdown, the printed table, W&B's comparison run), the table
into `race.md`. The eliminated configurations are paused runs: the leaderboard selects only
among completed ones and shows them without a test metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bakeoff.race.state import RaceState, load


def _label_of(state: RaceState, sweep_dir: Path, jobs, labels) -> dict[str, str]:
    """race configuration -> the leaderboard's label for it (via one of its job dirs)."""
    by_dir = {Path(job.run_dir).resolve(): label for job, label in zip(jobs, labels, strict=True)}
    out = {}
    for name, entry in state.configurations.items():
        for job_id in entry["jobs"]:
            label = by_dir.get((sweep_dir / job_id).resolve())
            if label is not None:
                out[name] = label
                break
        out.setdefault(name, entry.get("short") or name)
    return out


def cost(state: RaceState) -> dict[str, Any]:
    """Epochs and fit seconds spent, and the full grid's estimate (module doc)."""
    spent_epochs = spent_s = full_epochs = full_s = 0.0
    for entry in state.configurations.values():
        epochs = seconds = 0.0
        for job_id in entry["jobs"]:
            segments = state.jobs[job_id]["segments"].values()
            epochs += max((s["epochs"] for s in segments), default=0)
            seconds += sum(s["fit_s"] or 0.0 for s in segments)
        spent_epochs += epochs
        spent_s += seconds
        full_epochs += len(entry["jobs"]) * state.max_epochs
        if epochs:
            full_s += len(entry["jobs"]) * state.max_epochs * seconds / epochs
    return {
        "epochs": spent_epochs,
        "fit_s": spent_s,
        "full_epochs": full_epochs,
        "full_fit_s": full_s,
    }


def _row(state: RaceState, entry: dict[str, Any], label: str) -> dict[str, Any]:
    scores = entry.get("scores") or {}
    last = max(scores, key=int) if scores else None
    reached = state.budgets[int(last)] if last is not None else 0
    status = entry["status"]
    if status == "eliminated":
        shown = f"stopped at epoch {entry['stopped_at']} of {state.max_epochs}"
    elif status == "failed":
        shown = f"failed at rung {len(scores)}: {entry.get('reason')}"
    elif status == "finished":
        shown = f"finished ({state.max_epochs} epochs)"
    elif status == "screened":
        shown = entry.get("reason") or "screened out"
    else:
        shown = status
    value = scores.get(last) if last is not None else None
    return {"config": label, "race": shown, "epoch": reached, "val": value}


def race_summary(
    dirs: Sequence[Path], jobs, labels, metric: str
) -> tuple[list[str], list[dict[str, Any]]]:
    """(summary lines, one row per configuration) when the first dir holds a race, else empty."""
    sweep_dir = Path(dirs[0])
    state = load(sweep_dir) if len(dirs) == 1 else None
    if state is None:
        return [], []
    names = _label_of(state, sweep_dir, jobs, labels)
    rows = [_row(state, e, names[c]) for c, e in state.configurations.items()]
    spent = cost(state)
    n = len(state.configurations)
    finished = sum(r["race"].startswith("finished") for r in rows)
    share = spent["fit_s"] / spent["full_fit_s"] if spent["full_fit_s"] else math.nan
    lines = [
        f"Halving race (eta {state.eta}, min_epochs {state.min_epochs}, horizon "
        f"{state.max_epochs} epochs, rungs at {', '.join(map(str, state.budgets))}): "
        f"{finished} of {n} configurations trained to the horizon"
        + ("" if state.done else f"; the race is at rung {state.rung}, not finished"),
        f"Race compute: {spent['epochs']:.0f} epochs, {spent['fit_s']:.0f} fit s; the full grid: "
        f"{spent['full_epochs']:.0f} epochs, ~{spent['full_fit_s']:.0f} fit s "
        f"({share:.0%} spent; an estimate: the full grid's epochs x each configuration's "
        "measured seconds per epoch)",
    ]
    for row in rows:
        if not row["race"].startswith("finished"):
            val = "" if row["val"] is None else f" ({metric} {row['val']:.3g} there)"
            lines.append(f"{row['config']}: {row['race']}{val}")
    return lines, rows


def race_markdown(rows: list[dict[str, Any]], metric: str) -> str:
    head = f"| config | race | epoch reached | {metric} there (mean of seeds' best) |"
    lines = [head, "|---|---|---:|---:|"]
    for r in rows:
        val = "" if r["val"] is None else f"{r['val']:.4g}"
        lines.append(f"| {r['config']} | {r['race']} | {r['epoch']} | {val} |")
    return "\n".join(lines) + "\n"


def mark_stopped(comparison: Any, race_rows: Sequence[dict]) -> None:
    """In a comparison's table and display (bakeoff.results.comparison), a configuration the race
    stopped says so in its status, with its val where it stopped
    ("stopped at epoch 1 of 9 (val/f1_macro 0.394)"), not "2 paused"; stopped rows follow the
    finished ones, the furthest and best first."""
    stopped = {r["config"]: r for r in race_rows if not r["race"].startswith("finished")}
    if not stopped:
        return
    sign = -1.0 if comparison.mode == "min" else 1.0

    def order(i: int, config: str) -> tuple:
        row = stopped.get(config)
        if row is None:
            return (0, i)  # the leaderboard's own order
        val = row["val"] if row["val"] is not None else float("-inf") * sign
        return (1, -row["epoch"], -sign * val, i)

    configs = list(comparison.table["config"])
    rows = sorted(range(len(configs)), key=lambda i: order(i, configs[i]))
    for name in ("table", "display"):
        frame = getattr(comparison, name).iloc[rows].reset_index(drop=True)
        frame["status"] = [
            (
                stopped[c]["race"]
                + (
                    ""
                    if stopped[c]["val"] is None
                    else f" ({comparison.metric} {stopped[c]['val']:.3g})"
                )
            )
            if c in stopped
            else status
            for c, status in zip(frame["config"], frame["status"], strict=True)
        ]
        setattr(comparison, name, frame)
