"""A short end-of-run summary on the console (rich when it is installed, plain text otherwise).

Numbers are rounded for reading (`22.6M` params, `689 s`); results.json keeps them exact.
"""

from __future__ import annotations

from typing import Any


def metric(v: Any) -> str:
    """A metric: 4 decimals (3 significant digits from 1000 on)."""
    if v is None:
        return "-"
    return f"{v:.4f}" if abs(v) < 1000 else f"{v:.3g}"


def count(n: int | None) -> str:
    """A count with a unit prefix: 950, 12.3k, 22.6M, 1.1B."""
    if n is None:
        return "-"
    for scale, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)


def seconds(s: float | None) -> str:
    """A duration: 0.9 s, 12 s, 689 s."""
    if s is None:
        return "-"
    return f"{s:.1f} s" if s < 10 else f"{s:.0f} s"


def rate(r: float | None) -> str:
    """A throughput: 3 significant digits (23.1, 135), whole numbers from 1000 on (1234)."""
    if r is None:
        return "-"
    return f"{r:.3g}" if r < 1000 else f"{r:.0f}"


def summary_rows(record: dict[str, Any]) -> list[tuple[str, str]]:
    m, t, mon = record["model"], record["timing"], record["monitor"]
    best_epoch = "-" if mon["best_epoch"] is None else mon["best_epoch"]
    rows = [
        ("status", record["status"]),
        ("model / data", f"{m['name']} / {record['data']['name']}"),
        (f"best {mon['metric']}", f"{metric(mon['best'])} (epoch {best_epoch})"),
    ]
    for k, v in record["metrics"].get("test", {}).items():
        rows.append((f"test/{k}", metric(v)))
    rows += [
        (
            "params total / trainable",
            f"{count(m['params_total'])} / {count(m['params_trainable'])}",
        ),
        ("fit / train samples/s", f"{seconds(t['fit_s'])} / {rate(t['train_samples_per_s'])}"),
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
