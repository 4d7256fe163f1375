"""A short end-of-run summary on the console (rich when it is installed, plain text otherwise)."""

from __future__ import annotations

from typing import Any


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1000 else f"{v:.3g}"
    return "-" if v is None else str(v)


def summary_rows(record: dict[str, Any]) -> list[tuple[str, str]]:
    m, t, mon = record["model"], record["timing"], record["monitor"]
    rows = [
        ("status", record["status"]),
        ("model / data", f"{m['name']} / {record['data']['name']}"),
        (f"best {mon['metric']}", f"{_fmt(mon['best'])} (epoch {_fmt(mon['best_epoch'])})"),
    ]
    for k, v in record["metrics"].get("test", {}).items():
        rows.append((f"test/{k}", _fmt(v)))
    rows += [
        ("params total / trainable", f"{_fmt(m['params_total'])} / {_fmt(m['params_trainable'])}"),
        ("fit s / train samples/s", f"{_fmt(t['fit_s'])} / {_fmt(t['train_samples_per_s'])}"),
        ("run dir", record["paths"]["run_dir"]),
    ]
    return rows


def print_summary(record: dict[str, Any]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich is a dependency, but stay useful without it
        for k, v in summary_rows(record):
            print(f"{k:>28}  {v}")
        return
    table = Table(title="bakeoff run", show_header=False)
    for k, v in summary_rows(record):
        table.add_row(k, v)
    Console().print(table)
