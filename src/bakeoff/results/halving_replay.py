"""The race replayed on a finished full sweep: `bakeoff-compare DIR --replay-halving`.

Every job of a full sweep trained to the horizon and recorded its val metric at every epoch
(`history`). The race's decisions only need the best monitored value up to each rung's budget,
so the race can be replayed from those histories without training anything: which
configuration it selects against the full sweep's selection, the regret on val and on test
(how much worse the race's choice is than the full sweep's, in the metric's direction), and the
share of the grid's epochs (and, estimated from each job's seconds per epoch, fit seconds)
it would have trained.

Valid when every job completed and has the same horizon (`trainer.max_epochs`): the race
pins the horizon, so a run stopped at epoch k is the full run's first k epochs (exact resume).
A job that stopped early (early stopping) keeps its last best value for later rungs, as it
would in the race.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bakeoff.errors import BakeoffError
from bakeoff.race import plan


class ReplayError(BakeoffError):
    """A sweep on which the race cannot be replayed (the message says why)."""


def _best_until(history: list[dict], metric: str, mode: str, epochs: int) -> float | None:
    values = [
        h[metric]
        for h in history
        if h.get("epoch", 0) < epochs and h.get(metric) is not None and math.isfinite(h[metric])
    ]
    if not values:
        return None
    return max(values) if mode == "max" else min(values)


def replay(
    dirs: Sequence[str | Path], eta: int = 3, min_epochs: int = 1, keep_min: int = 1
) -> dict[str, Any]:
    """The replayed race's selection, regrets and compute beside the full sweep's (module doc)."""
    from bakeoff.results.collect import config_labels, find_jobs

    jobs = find_jobs(dirs)
    not_done = [str(j.run_dir) for j in jobs if j.status != "completed"]
    if not_done:
        raise ReplayError(
            f"replay needs a finished full sweep: {len(not_done)} job(s) did not complete "
            f"(e.g. {not_done[0]})"
        )
    horizons = {(j.record.get("config") or {}).get("trainer", {}).get("max_epochs") for j in jobs}
    if len(horizons) != 1:
        raise ReplayError(
            f"replay is valid only when every job has the same horizon; trainer.max_epochs "
            f"differs: {sorted(map(str, horizons))}"
        )
    horizon = horizons.pop()
    labels, _ = config_labels(jobs)
    metric, mode = jobs[0].record["monitor"]["metric"], jobs[0].record["monitor"]["mode"]
    test_metric = "test/" + metric.split("/", 1)[1]
    by_config: dict[str, list] = {}
    for job, label in zip(jobs, labels, strict=True):
        by_config.setdefault(label, []).append(job)
    plan.check_settings(eta, min_epochs, keep_min, horizon, len(by_config))
    budgets = plan.budgets(min_epochs, eta, horizon)

    def val(label: str, epochs: int) -> float:
        return plan.score(
            [_best_until(j.record["history"], metric, mode, epochs) for j in by_config[label]],
            mode,
        )

    def test(label: str) -> float:
        values = [
            (j.record["metrics"].get("test") or {}).get(test_metric.split("/", 1)[1])
            for j in by_config[label]
        ]
        return plan.score(values, mode)

    racing, reached = list(by_config), {}
    for rung, budget in enumerate(budgets):
        for label in racing:
            reached[label] = budget
        if rung < len(budgets) - 1:
            racing = plan.kept({c: val(c, budget) for c in racing}, mode, eta, keep_min)
    race_pick = plan.ranked({c: val(c, horizon) for c in racing}, mode)[0]
    full_pick = plan.ranked({c: val(c, horizon) for c in by_config}, mode)[0]
    sign = 1 if mode == "max" else -1
    epochs = {
        str(j.run_dir): (len(j.record["history"]), j.record["timing"].get("fit_s")) for j in jobs
    }
    race_epochs = race_s = full_epochs = full_s = 0.0
    for label, members in by_config.items():
        for job in members:
            trained, fit_s = epochs[str(job.run_dir)]
            per_epoch = (fit_s or 0.0) / trained if trained else 0.0
            race_epochs += min(reached[label], trained)
            race_s += min(reached[label], trained) * per_epoch
            full_epochs += trained
            full_s += fit_s or 0.0
    return {
        "metric": metric,
        "mode": mode,
        "horizon": horizon,
        "budgets": budgets,
        "reached": reached,
        "race_selects": race_pick,
        "full_selects": full_pick,
        "val_regret": sign * (val(full_pick, horizon) - val(race_pick, horizon)),
        "test_regret": sign * (test(full_pick) - test(race_pick)),
        "epochs_fraction": race_epochs / full_epochs,
        "fit_s_fraction": race_s / full_s if full_s else math.nan,
        "configurations": len(by_config),
    }


def replay_lines(result: dict[str, Any], eta: int, min_epochs: int) -> list[str]:
    r = result
    name = r["metric"].split("/", 1)[1]
    eliminated = {c: e for c, e in r["reached"].items() if e < r["horizon"]}
    lines = [
        f"Replay of a halving race (eta {eta}, min_epochs {min_epochs}, rungs at "
        f"{', '.join(map(str, r['budgets']))} of {r['horizon']} epochs) on "
        f"{r['configurations']} configurations, from the records' per-epoch {r['metric']}:",
        f"- race selects: {r['race_selects']}",
        f"- full sweep selects: {r['full_selects']}"
        + (" (the same)" if r["race_selects"] == r["full_selects"] else ""),
        f"- regret: val {name} {r['val_regret']:.4g}, test {name} {r['test_regret']:.4g} "
        "(full sweep's selection minus the race's, positive: the race chose worse)",
        f"- epochs trained: {r['epochs_fraction']:.0%} of the full sweep's; fit seconds "
        f"~{r['fit_s_fraction']:.0%} (each job's measured seconds per epoch)",
    ]
    lines += [f"- stopped at epoch {e} of {r['horizon']}: {c}" for c, e in eliminated.items()]
    lines.append(
        "Valid: every job completed with the same horizon (trainer.max_epochs), which the "
        "race pins; a run stopped at epoch k is then the full run's first k epochs."
    )
    return lines
