"""Paired significance of every configuration against the selected one, on test predictions.

Runs are paired by (seed, fold), their test_predictions.csv read and joined on the example index;
the numbers come from `stats` (paired bootstrap, exact McNemar).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import pandas as pd

from bakeoff.results import stats

log = logging.getLogger(__name__)

ALPHA = 0.05


def _none_if_nan(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _pairing_runs(runs: pd.DataFrame) -> dict[tuple[Any, Any], str]:
    """(seed, fold) -> predictions path of completed runs that recorded predictions."""
    usable = runs[(runs["status"] == "completed") & runs["predictions"].notna()]
    pairs: dict[tuple[Any, Any], str] = {}
    for _, run in usable.sort_values("run_dir").iterrows():
        pairs.setdefault((_none_if_nan(run["seed"]), _none_if_nan(run["fold"])), run["predictions"])
    return pairs


def _read_predictions(path: str, cache: dict[str, pd.DataFrame]) -> pd.DataFrame:
    if path not in cache:
        frame = pd.read_csv(
            path, usecols=["index", "label", "pred"], dtype={"label": str, "pred": str}
        )
        cache[path] = frame.drop_duplicates("index").set_index("index")
    return cache[path]


def significance(
    best_runs: pd.DataFrame, other_runs: pd.DataFrame, cache: dict[str, pd.DataFrame] | None = None
) -> dict[str, Any]:
    """Paired tests of test-set correctness: the other configuration against the best one.

    Runs are paired by (seed, fold) where both configs have them (per-example correctness is then
    averaged over the matched runs before the bootstrap; McNemar uses the first matched pair),
    else the first completed run of each. Returns p_bootstrap, p_mcnemar, delta_acc (other - best,
    on the pooled examples), n_examples, and a note when no test was possible.
    """
    cache = {} if cache is None else cache
    best, other = _pairing_runs(best_runs), _pairing_runs(other_runs)
    empty = {"p_bootstrap": math.nan, "p_mcnemar": math.nan, "delta_acc": math.nan, "n_examples": 0}
    if not best or not other:
        return {**empty, "note": "no predictions"}
    matched = sorted(
        (k for k in best.keys() & other.keys() if k != (None, None)), key=lambda k: str(k)
    )
    pairs = [(best[k], other[k]) for k in matched] or [
        (next(iter(best.values())), next(iter(other.values())))
    ]
    frames = []
    for best_path, other_path in pairs:
        try:
            best_predictions = _read_predictions(best_path, cache)
            other_predictions = _read_predictions(other_path, cache)
        except (OSError, ValueError) as exc:  # e.g. a CSV without index/label/pred columns
            log.warning("unreadable predictions (%s vs %s): %s", best_path, other_path, exc)
            return {**empty, "note": "unreadable predictions"}
        joined = pd.merge(
            best_predictions,
            other_predictions,
            left_index=True,
            right_index=True,
            suffixes=("_best", "_other"),
        )
        if joined.empty or (joined["label_best"] != joined["label_other"]).any():
            return {**empty, "note": "test sets differ"}
        frames.append(
            pd.DataFrame(
                {
                    "best": (joined["label_best"] == joined["pred_best"]).astype(float),
                    "other": (joined["label_other"] == joined["pred_other"]).astype(float),
                },
                index=joined.index,
            )
        )
    pooled = pd.concat(frames).groupby(level=0).mean()
    first = frames[0]
    return {
        "p_bootstrap": stats.paired_bootstrap(pooled["best"], pooled["other"]),
        "p_mcnemar": stats.mcnemar_exact(first["best"] > 0.5, first["other"] > 0.5),
        "delta_acc": float(pooled["other"].mean() - pooled["best"].mean()),
        "n_examples": len(pooled),
        "note": "",
    }


def _verdict(config: str, best: str | None, test: dict[str, Any]) -> str:
    if config == best:
        return "selected"
    p = test["p_bootstrap"]
    if math.isnan(p):
        return test["note"]
    if p >= ALPHA:
        return "within noise"
    return "better on test" if test["delta_acc"] > 0 else "worse on test"


def add_significance(table: pd.DataFrame, runs: pd.DataFrame, best: str | None) -> pd.DataFrame:
    results = []
    cache: dict[str, pd.DataFrame] = {}
    best_runs = runs[runs["config"] == best]
    for config, n in zip(table["config"], table["n"], strict=True):
        if best is None or config == best or n == 0:
            test = {"p_bootstrap": math.nan, "p_mcnemar": math.nan, "delta_acc": math.nan}
            test.update(n_examples=0, note="")
        else:
            test = significance(best_runs, runs[runs["config"] == config], cache)
        test["vs_best"] = _verdict(config, best, test) if best is not None else ""
        results.append(test)
    extra = pd.DataFrame(results).drop(columns="note")
    return pd.concat([table, extra], axis=1)
