"""The selection metric itself, recomputed from a test_predictions.csv on bootstrap resamples.

A resample of n examples is a row of counts W (how often each example was drawn); every metric
here is a function of those counts, computed for many resamples at once: `Resampled(W)` maps a
(resamples, n) array of counts to the metric of each resample. All-ones counts give the metric of
the test set itself, equal to what the run logged (tests/test_compare.py checks this).

Metrics by what the predictions file holds:
- classification (`prob_<class>` columns, one label): acc, f1_macro, precision_macro,
  recall_macro, mcc, and f1 / precision / recall of the positive class, from the resample's
  confusion matrix (macro over the classes present in labels or predictions, as sklearn);
- regression (`score`, numeric label/pred): pearson, spearman (average ranks of the resample,
  ties included), mse;
- token classification (`tp,fp,fn`, no `prob_`): f1, precision, recall of entities, acc of words;
- multi-label (`tp,fp,fn` and `prob_<label>`): f1/precision/recall micro and macro, map.
A metric this module cannot compute from the file gives None, and the caller falls back to the
file's own per-example statistic.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd

Resampled = Callable[[np.ndarray], np.ndarray]
PROB = "prob_"


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (sklearn's zero_division=0, seqeval's rule)."""
    return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def _stat(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, stat: str) -> np.ndarray:
    if stat == "precision":
        return _ratio(tp, tp + fp)
    if stat == "recall":
        return _ratio(tp, tp + fn)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _classes(frame: pd.DataFrame) -> list[str]:
    return [c[len(PROB) :] for c in frame.columns if c.startswith(PROB)]


# -- classification -----------------------------------------------------------------------------
def _classification(frame: pd.DataFrame, metric: str) -> Resampled | None:
    names = _classes(frame)
    k = len(names)
    to_id = {n: i for i, n in enumerate(names)}
    y, p = frame["label"].map(to_id), frame["pred"].map(to_id)
    if k < 2 or y.isna().any() or p.isna().any():
        return None
    cells = np.zeros((len(frame), k * k))
    cells[np.arange(len(frame)), y.to_numpy(int) * k + p.to_numpy(int)] = 1.0

    def confusion(w: np.ndarray) -> np.ndarray:  # (resamples, true, pred)
        return (w @ cells).reshape(len(w), k, k)

    def macro(values: np.ndarray, present: np.ndarray) -> np.ndarray:
        return (values * present).sum(1) / np.maximum(present.sum(1), 1)

    def compute(w: np.ndarray) -> np.ndarray:
        c = confusion(w)
        tp, true, pred = np.diagonal(c, axis1=1, axis2=2), c.sum(2), c.sum(1)
        total = c.sum((1, 2))
        if metric == "acc":
            return _ratio(tp.sum(1), total)
        if metric == "mcc":
            cov = tp.sum(1) * total - (true * pred).sum(1)
            den = (total**2 - (pred * pred).sum(1)) * (total**2 - (true * true).sum(1))
            return _ratio(cov, np.sqrt(np.maximum(den, 0)))
        stat, _, average = metric.partition("_")
        if average == "macro":
            return macro(_stat(tp, pred - tp, true - tp, stat), (true + pred) > 0)
        last = k - 1  # the positive class: GLUE's 1, the task's default
        return _stat(tp[:, last], pred[:, last] - tp[:, last], true[:, last] - tp[:, last], stat)

    known = {"acc", "mcc", "f1", "precision", "recall"}
    known |= {f"{s}_macro" for s in ("f1", "precision", "recall")}
    return compute if metric in known else None


# -- regression ---------------------------------------------------------------------------------
def _weighted_pearson(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson's r of (x, y) with example weights w: rows of w, and x, y either (n,) or rows."""
    total = w.sum(1, keepdims=True)
    mx = (w * x).sum(1, keepdims=True) / total
    my = (w * y).sum(1, keepdims=True) / total
    dx, dy = x - mx, y - my
    cov, vx, vy = (w * dx * dy).sum(1), (w * dx * dx).sum(1), (w * dy * dy).sum(1)
    return _ratio(cov, np.sqrt(vx * vy))  # a constant side: 0, as the logged metric


def _average_ranks(w: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each example's average rank (1-based, ties averaged) within each resample drawn with
    counts w, as scipy.stats.rankdata of the resample's values."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    group = np.cumsum(np.r_[True, sorted_values[1:] != sorted_values[:-1]]) - 1
    counts = np.add.reduceat(w[:, order], starts, axis=1)
    below = np.cumsum(counts, axis=1) - counts
    rank_sorted = (below + (counts + 1) / 2)[:, group]
    ranks = np.empty_like(rank_sorted)
    ranks[:, order] = rank_sorted
    return ranks


def _regression(frame: pd.DataFrame, metric: str) -> Resampled | None:
    try:
        y = pd.to_numeric(frame["label"]).to_numpy(float)
        p = pd.to_numeric(frame["pred"]).to_numpy(float)
    except (ValueError, TypeError):
        return None
    if metric == "mse":
        return lambda w: (w @ (p - y) ** 2) / w.sum(1)
    if metric == "pearson":
        return lambda w: _weighted_pearson(w, p, y)
    if metric == "spearman":
        return lambda w: _weighted_pearson(w, _average_ranks(w, p), _average_ranks(w, y))
    return None


# -- counts: token classification and multi-label -----------------------------------------------
def _counts(frame: pd.DataFrame) -> np.ndarray:
    return frame[["tp", "fp", "fn"]].to_numpy(float)


def _words(frame: pd.DataFrame) -> np.ndarray:
    """(correct, total) words per sentence from the space-separated tags."""
    out = np.zeros((len(frame), 2))
    for i, (gold, pred) in enumerate(zip(frame["label"], frame["pred"], strict=True)):
        g, p = str(gold).split(), str(pred).split()
        out[i] = sum(a == b for a, b in zip(g, p, strict=False)), len(g)
    return out


def _tokens(frame: pd.DataFrame, metric: str) -> Resampled | None:
    if metric in ("f1", "precision", "recall"):
        counts = _counts(frame)

        def entity(w: np.ndarray) -> np.ndarray:
            tp, fp, fn = (w @ counts).T
            return _stat(tp, fp, fn, metric)

        return entity
    if metric == "acc":
        words = _words(frame)
        return lambda w: _ratio(*(w @ words).T)
    return None


def label_set(value: object) -> list[str]:
    """A multi-label cell as written: a JSON list, or names separated by spaces (older files)."""
    text = str(value).strip()
    if text.startswith("["):
        try:
            return [str(v) for v in json.loads(text)]
        except ValueError:
            pass
    return text.split()


def _average_precision(w: np.ndarray, scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Average precision per resample (sklearn's step-wise AP: tied scores are one threshold)."""
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
    ws = w[:, order]
    tp = np.cumsum(ws * truth[order], axis=1)[:, ends]
    seen = np.cumsum(ws, axis=1)[:, ends]
    gained = np.diff(tp, axis=1, prepend=0.0)
    positives = tp[:, -1]
    return _ratio((gained * _ratio(tp, seen)).sum(1), positives)


def _multilabel(frame: pd.DataFrame, metric: str) -> Resampled | None:
    names = _classes(frame)
    stat, _, average = metric.partition("_")
    if metric == "map" or average == "macro":
        column = {n: j for j, n in enumerate(names)}
        truth = np.zeros((len(frame), len(names)))
        pred = np.zeros_like(truth)
        for i, (gold, found) in enumerate(zip(frame["label"], frame["pred"], strict=True)):
            for target, cell in ((truth, gold), (pred, found)):
                for name in label_set(cell):
                    if name not in column:
                        return None
                    target[i, column[name]] = 1.0
        if metric == "map":
            scores = frame[[PROB + n for n in names]].to_numpy(float)
            return lambda w: np.mean(
                [_average_precision(w, scores[:, j], truth[:, j]) for j in range(len(names))],
                axis=0,
            )
        tp, fp, fn = truth * pred, (1 - truth) * pred, truth * (1 - pred)
        return lambda w: _stat(w @ tp, w @ fp, w @ fn, stat).mean(1)
    if average == "micro":
        counts = _counts(frame)

        def micro(w: np.ndarray) -> np.ndarray:
            tp, fp, fn = (w @ counts).T
            return _stat(tp, fp, fn, stat)

        return micro
    return None


def resampled_metric(frame: pd.DataFrame, metric: str) -> Resampled | None:
    """The metric (a name without its split, e.g. "f1_macro") of this predictions file as a
    function of resample counts, or None where the file cannot give it."""
    columns = set(frame.columns)
    has_probs = any(c.startswith(PROB) for c in columns)
    if {"tp", "fp", "fn"} <= columns:
        return _multilabel(frame, metric) if has_probs else _tokens(frame, metric)
    if has_probs:
        return _classification(frame, metric)
    if "score" in columns:
        return _regression(frame, metric)
    return None
