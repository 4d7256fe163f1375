"""The paired bootstrap is on the selection metric itself, recomputed on each resample."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn import metrics as skm

from bakeoff.results.metric_stats import resampled_metric
from bakeoff.results.significance import significance


def runs_frame(tmp_path, name: str, frame: pd.DataFrame) -> pd.DataFrame:
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    row = {"status": "completed", "predictions": str(path), "seed": 1, "fold": None}
    return pd.DataFrame([{**row, "run_dir": str(tmp_path / name)}])


def classification_file(labels, preds) -> pd.DataFrame:
    frame = pd.DataFrame({"index": range(len(labels)), "label": labels, "pred": preds})
    for name in ("a", "b"):
        frame[f"prob_{name}"] = (frame["pred"] == name).astype(float)
    frame["prob"] = 1.0
    frame["score"] = (frame["label"] == frame["pred"]).astype(int)
    return frame


def test_the_p_value_follows_the_selection_metric(tmp_path):
    """Imbalanced classes (360 a, 40 b): `other` always says a, `best` finds 38 of the b's but
    calls 40 a's b. Accuracy hardly differs (0.895 vs 0.900), macro-F1 does (0.80 vs 0.47)."""
    labels = ["a"] * 360 + ["b"] * 40
    best_preds = ["a"] * 320 + ["b"] * 40 + ["b"] * 38 + ["a"] * 2
    best = runs_frame(tmp_path, "best", classification_file(labels, best_preds))
    other = runs_frame(tmp_path, "other", classification_file(labels, ["a"] * 400))

    on_f1 = significance(best, other, metric="val/f1_macro")
    on_acc = significance(best, other, metric="val/acc")
    assert on_f1["statistic"] == "test/f1_macro" and on_acc["statistic"] == "test/acc"
    f1 = skm.f1_score(labels, ["a"] * 400, average="macro") - skm.f1_score(
        labels, best_preds, average="macro"
    )
    assert on_f1["delta"] == pytest.approx(f1)
    assert on_acc["delta"] == pytest.approx(0.900 - 0.895)
    assert on_f1["p_bootstrap"] < 0.001  # the F1 difference is significant ...
    assert on_acc["p_bootstrap"] > 0.5  # ... the accuracy difference is not
    # McNemar stays, on 1/0 correctness, whatever the metric
    assert on_f1["p_mcnemar"] == on_acc["p_mcnemar"] > 0.5
    # without a metric (older callers): the file's own statistic, mean correctness
    assert significance(best, other)["p_bootstrap"] == pytest.approx(on_acc["p_bootstrap"], 0.1)


def names_of(labels: list[str], on: np.ndarray) -> str:
    return json.dumps([lab for lab, flag in zip(labels, on, strict=True) if flag])


def resamples(rng, n: int, size: int = 4) -> np.ndarray:
    return rng.multinomial(n, np.full(n, 1 / n), size=size).astype(float)


def expand(w: np.ndarray, *columns):
    """The resample `w` (counts) as the rows it drew, for the reference libraries."""
    picks = np.repeat(np.arange(len(w)), w.astype(int))
    return [np.asarray(c)[picks] for c in columns]


@pytest.mark.parametrize("seed", range(3))
def test_resampled_metrics_equal_the_libraries_on_the_drawn_rows(seed):
    rng = np.random.default_rng(seed)
    n = 60
    # classification, 3 classes
    names = ["x", "y", "z"]
    y, p = rng.choice(names, n), rng.choice(names, n)
    frame = pd.DataFrame({"label": y, "pred": p, **{f"prob_{c}": 0.3 for c in names}})
    frame["score"] = (frame.label == frame.pred).astype(int)
    w = resamples(rng, n)
    sk = {
        "acc": skm.accuracy_score,
        "mcc": skm.matthews_corrcoef,
        "f1_macro": lambda a, b: skm.f1_score(a, b, average="macro", zero_division=0),
        "recall_macro": lambda a, b: skm.recall_score(a, b, average="macro", zero_division=0),
        "f1": lambda a, b: skm.f1_score(a == "z", b == "z", zero_division=0),
    }
    for metric, reference in sk.items():
        ours = resampled_metric(frame, metric)(w)
        want = [reference(*expand(row, y, p)) for row in w]
        assert ours == pytest.approx(want, abs=1e-9), metric
    # regression, with ties
    yv, pv = rng.integers(0, 6, n).astype(float), rng.normal(size=n).round(1)
    frame = pd.DataFrame({"label": yv, "pred": pv, "score": -((pv - yv) ** 2)})
    for metric, reference in {
        "pearson": lambda a, b: sps.pearsonr(a, b).statistic,
        "spearman": lambda a, b: sps.spearmanr(a, b).statistic,
        "mse": lambda a, b: skm.mean_squared_error(a, b),
    }.items():
        ours = resampled_metric(frame, metric)(w)
        want = [reference(*expand(row, yv, pv)) for row in w]
        assert ours == pytest.approx(want, abs=1e-9), metric
    # multi-label: macro F1 and mAP from label sets and probabilities
    labels = ["l0", "l 1", "l2"]
    truth = rng.integers(0, 2, (n, 3))
    scores = rng.uniform(size=(n, 3)).round(1)
    pred = (scores > 0.5).astype(int)
    frame = pd.DataFrame(
        {
            "label": [names_of(labels, t) for t in truth],
            "pred": [names_of(labels, q) for q in pred],
            **{f"prob_{lab}": scores[:, j] for j, lab in enumerate(labels)},
            "tp": (truth & pred).sum(1),
            "fp": ((1 - truth) & pred).sum(1),
            "fn": (truth & (1 - pred)).sum(1),
        }
    )
    for metric, reference in {
        "f1_macro": lambda t, q, s: skm.f1_score(t, q, average="macro", zero_division=0),
        "f1_micro": lambda t, q, s: skm.f1_score(t, q, average="micro", zero_division=0),
        "map": lambda t, q, s: np.mean(
            [
                skm.average_precision_score(t[:, j], s[:, j]) if t[:, j].any() else 0.0
                for j in range(3)
            ]
        ),
    }.items():
        ours = resampled_metric(frame, metric)(w)
        want = [reference(*expand(row, truth, pred, scores)) for row in w]
        assert ours == pytest.approx(want, abs=1e-9), metric
