"""Paired significance of every configuration against the selected one, on test predictions.

Runs are paired by (seed, fold), their test_predictions.csv read and joined on the example index;
the numbers come from `stats` (paired bootstrap, exact McNemar).

test_predictions.csv holds `index,label,pred` and the per-example values of a statistic the task
chose, either
- `score`: higher is better, the statistic is its mean (1/0 correctness for classification,
  negative squared error for regression), or
- `tp,fp,fn`: counts, the statistic is F1 = 2 Σtp / (2 Σtp + Σfp + Σfn) (entities of a sentence
  for NER, labels of an example for multi-label).
A file with only `index,label,pred` (written before the tasks chose) scores label == pred.

When the comparison names its selection metric, the bootstrap is on that metric itself,
recomputed from the predictions on every resample (`metric_stats`: macro-F1, MCC, Pearson,
entity F1, mAP ...), and the `statistic` column names it (e.g. `test/f1_macro`); the statistic
above is the fallback for a metric a predictions file cannot give. McNemar is on 1/0
correctness wherever the file has it.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from bakeoff.results import stats
from bakeoff.results.metric_stats import resampled_metric

log = logging.getLogger(__name__)

ALPHA = 0.05
SCORE_COLUMN = "score"
COUNT_COLUMNS = ("tp", "fp", "fn")
# What the statistic is, by the columns a predictions file holds (the `statistic` column).
MEAN_SCORE = "mean per-example score"
COUNTS_F1 = "F1 of tp/fp/fn counts"
_STATISTICS = {MEAN_SCORE: stats.mean_score, COUNTS_F1: stats.f1_from_counts}
# Regression labels written by two runs may differ in their last digits only.
LABEL_RTOL, LABEL_ATOL = 1e-6, 1e-9


def _none_if_nan(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _empty(note: str = "") -> dict[str, Any]:
    return {
        "p_bootstrap": math.nan,
        "p_mcnemar": math.nan,
        "delta": math.nan,
        "n_examples": 0,
        "statistic": "",
        "note": note,
    }


def _pairing_runs(runs: pd.DataFrame) -> dict[tuple[Any, Any], str]:
    """(seed, fold) -> predictions path of completed runs that recorded predictions."""
    usable = runs[(runs["status"] == "completed") & runs["predictions"].notna()]
    pairs: dict[tuple[Any, Any], str] = {}
    for _, run in usable.sort_values("run_dir").iterrows():
        pairs.setdefault((_none_if_nan(run["seed"]), _none_if_nan(run["fold"])), run["predictions"])
    return pairs


class Predictions:
    """One test_predictions.csv: labels as written, and per-example values of its statistic."""

    def __init__(self, frame: pd.DataFrame) -> None:
        frame = frame.drop_duplicates("index").set_index("index")
        self.frame = frame
        self.labels: pd.Series = frame["label"]
        if set(COUNT_COLUMNS) <= set(frame.columns):
            self.statistic, values = COUNTS_F1, frame[list(COUNT_COLUMNS)]
        elif SCORE_COLUMN in frame.columns:
            self.statistic, values = MEAN_SCORE, frame[[SCORE_COLUMN]]
        else:  # index,label,pred only: correctness
            correct = frame["label"] == frame["pred"]
            self.statistic, values = MEAN_SCORE, correct.to_frame(SCORE_COLUMN)
        self.values: pd.DataFrame = values.astype(float)

    @classmethod
    def read(cls, path: str) -> Predictions:
        # Labels as written (strings): "B-PER O I-PER", "3.25", "pos"; "" stays "", not NaN.
        frame = pd.read_csv(path, dtype={"label": str, "pred": str}, keep_default_na=False)
        missing = [c for c in ("index", "label", "pred") if c not in frame.columns]
        if missing:
            raise ValueError(f"{path}: no column {', '.join(missing)}")
        for column in (SCORE_COLUMN, *COUNT_COLUMNS):
            if column in frame.columns:
                frame[column] = pd.to_numeric(frame[column], errors="raise")
                if not np.isfinite(frame[column].to_numpy(dtype=float)).all():
                    raise ValueError(f"{path}: {column} is not a finite number everywhere")
        return cls(frame)


def _read_predictions(path: str, cache: dict[str, Predictions]) -> Predictions:
    if path not in cache:
        cache[path] = Predictions.read(path)
    return cache[path]


def same_labels(a: pd.Series, b: pd.Series) -> bool:
    """Labels of the same examples from two runs: equal as written, or as numbers within a
    tolerance (regression targets formatted with other digits)."""
    a, b = a.astype(str), b.astype(str)
    differ = (a != b).to_numpy()
    if not differ.any():
        return True
    x = pd.to_numeric(a[differ], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(b[differ], errors="coerce").to_numpy(dtype=float)
    return bool(np.isclose(x, y, rtol=LABEL_RTOL, atol=LABEL_ATOL).all())


def _is_binary(values: pd.DataFrame) -> bool:
    return list(values.columns) == [SCORE_COLUMN] and bool(values[SCORE_COLUMN].isin((0, 1)).all())


def _on_metric(
    metric: str, best: list[Predictions], other: list[Predictions], index: pd.Index
) -> tuple[float, float] | None:
    """(p, delta) of the metric recomputed on resamples, the mean over the matched runs of each
    side; None when a predictions file cannot give the metric."""
    sides = []
    for predictions in (best, other):
        functions = [resampled_metric(p.frame.loc[index], metric) for p in predictions]
        if any(f is None for f in functions):
            return None
        sides.append(lambda w, fs=functions: np.mean([f(w) for f in fs], axis=0))
    ones = np.ones((1, len(index)))
    delta = float(sides[1](ones)[0] - sides[0](ones)[0])
    return stats.paired_bootstrap_metric(sides[0], sides[1], len(index)), delta


def significance(
    best_runs: pd.DataFrame,
    other_runs: pd.DataFrame,
    cache: dict[str, Predictions] | None = None,
    metric: str | None = None,
) -> dict[str, Any]:
    """Paired tests of the test statistic: the other configuration against the best one.

    Runs are paired by (seed, fold) where both configs have them (per-example values are then
    averaged over the matched runs before the bootstrap; McNemar uses the first matched pair and
    only when the score is 1/0), else the first completed run of each. Returns p_bootstrap,
    p_mcnemar, delta (statistic of other - best, on the pooled examples), n_examples,
    statistic (MEAN_SCORE or COUNTS_F1), and a note when no test was possible. With `metric`
    (a test metric name such as "test/f1_macro") the bootstrap and delta are on that metric,
    recomputed per resample, and `statistic` is its name.
    """
    cache = {} if cache is None else cache
    best, other = _pairing_runs(best_runs), _pairing_runs(other_runs)
    if not best or not other:
        return _empty("no predictions")
    matched = sorted(
        (k for k in best.keys() & other.keys() if k != (None, None)), key=lambda k: str(k)
    )
    pairs = [(best[k], other[k]) for k in matched] or [
        (next(iter(best.values())), next(iter(other.values())))
    ]
    best_frames, other_frames = [], []
    best_files: list[Predictions] = []
    other_files: list[Predictions] = []
    for best_path, other_path in pairs:
        try:
            best_predictions = _read_predictions(best_path, cache)
            other_predictions = _read_predictions(other_path, cache)
        except (OSError, ValueError) as exc:  # e.g. a CSV without index/label/pred columns
            log.warning("unreadable predictions (%s vs %s): %s", best_path, other_path, exc)
            return _empty("unreadable predictions")
        if best_predictions.statistic != other_predictions.statistic:
            return _empty("different statistics")
        index = best_predictions.labels.index.intersection(other_predictions.labels.index)
        if index.empty or not same_labels(
            best_predictions.labels.loc[index], other_predictions.labels.loc[index]
        ):
            return _empty("test sets differ")
        best_frames.append(best_predictions.values.loc[index])
        other_frames.append(other_predictions.values.loc[index])
        best_files.append(best_predictions)
        other_files.append(other_predictions)
    statistic = best_predictions.statistic
    # Mean over matched runs per example: F1 of mean counts is F1 of summed counts.
    pooled_best = pd.concat(best_frames).groupby(level=0).mean()
    pooled_other = pd.concat(other_frames).groupby(level=0).mean().loc[pooled_best.index]
    p_mcnemar = math.nan
    if _is_binary(best_frames[0]) and _is_binary(other_frames[0]):
        p_mcnemar = stats.mcnemar_exact(
            best_frames[0][SCORE_COLUMN] > 0.5, other_frames[0][SCORE_COLUMN] > 0.5
        )
    common = pooled_best.index
    for frame in (*best_frames, *other_frames):
        common = common.intersection(frame.index)
    on_metric = None
    if metric is not None:
        on_metric = _on_metric(metric.split("/", 1)[-1], best_files, other_files, common)
    if on_metric is not None:
        assert metric is not None  # on_metric is computed for a metric only
        (p_bootstrap, delta), statistic = on_metric, "test/" + metric.split("/", 1)[-1]
        n_examples = len(common)
    else:
        function = _STATISTICS[statistic]
        best_values, other_values = pooled_best.to_numpy(), pooled_other.to_numpy()
        p_bootstrap = stats.paired_bootstrap(best_values, other_values, statistic=function)
        delta = stats.statistic_of(other_values, function) - stats.statistic_of(
            best_values, function
        )
        n_examples = len(pooled_best)
    return {
        "p_bootstrap": p_bootstrap,
        "p_mcnemar": p_mcnemar,
        "delta": delta,
        "n_examples": n_examples,
        "statistic": statistic,
        "note": "",
    }


def _verdict(config: str, best: str | None, test: dict[str, Any], mode: str = "max") -> str:
    if config == best:
        return "selected"
    p = test["p_bootstrap"]
    if math.isnan(p):
        return test["note"]
    if p >= ALPHA:
        return "within noise"
    higher = test["delta"] > 0
    return "better on test" if higher == (mode != "min") else "worse on test"


def add_significance(
    table: pd.DataFrame,
    runs: pd.DataFrame,
    best: str | None,
    metric: str | None = None,
    mode: str = "max",
) -> pd.DataFrame:
    """The table with p_bootstrap, p_mcnemar, delta, n_examples, statistic and vs_best added;
    with `metric` (the selection metric) the bootstrap is on that metric, on test."""
    results = []
    cache: dict[str, Predictions] = {}
    best_runs = runs[runs["config"] == best]
    for config, n in zip(table["config"], table["n"], strict=True):
        if best is None or config == best or n == 0:
            test = _empty()
        else:
            test = significance(best_runs, runs[runs["config"] == config], cache, metric)
        # the fallback statistics are higher-is-better; the selection metric has its mode
        direction = mode if test["statistic"].startswith("test/") else "max"
        test["vs_best"] = _verdict(config, best, test, direction) if best is not None else ""
        results.append(test)
    extra = pd.DataFrame(results).drop(columns="note")
    return pd.concat([table, extra], axis=1)


def statistics_used(table: pd.DataFrame) -> list[str]:
    """The statistics the table's significance tests compared, in order of appearance."""
    if "statistic" not in table:
        return []
    return list(dict.fromkeys(s for s in table["statistic"] if isinstance(s, str) and s))
