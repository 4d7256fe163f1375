"""Every metric a task logs (and the loss): its direction, and the order tables show them in.

The one home of a metric's direction: the config check (a monitor watched the wrong way), the
leaderboard's selection when no record says which way its monitor went (results/aggregate.py),
and the column order of collected runs (results/collect.py) read it here. Every metric a task
kind offers (`Task.available_metrics`) has its entry (tests/test_tasks.py checks it against
torchmetrics' own `higher_is_better`). A leaf module: it imports nothing.
"""

from __future__ import annotations

# name -> the monitor mode that selects its best: "max" higher is better, "min" lower is better;
# in the column order of the tables (metrics not listed follow, by name).
MODES: dict[str, str] = {
    "acc": "max",
    "f1_macro": "max",
    "precision_macro": "max",
    "recall_macro": "max",
    "loss": "min",
    "mcc": "max",
    "f1": "max",
    "pearson": "max",
    "spearman": "max",
    "mse": "min",
    "precision": "max",
    "recall": "max",
    "f1_micro": "max",
    "map": "max",
    "precision_micro": "max",
    "recall_micro": "max",
}
KNOWN_METRICS = tuple(MODES)


def mode(metric: str) -> str:
    """ "min" or "max" for a metric, bare (`mse`) or logged (`val/mse`, `val_matched/loss`); a
    name bakeoff does not know is taken as higher-is-better."""
    return MODES.get(metric.rsplit("/", 1)[-1], "max")


def lower_is_better(metric: str) -> bool:
    return mode(metric) == "min"
