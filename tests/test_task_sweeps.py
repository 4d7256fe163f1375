"""A sweep over two tiny backbones on a regression fixture and on an NER fixture: each ends with a
leaderboard selected on the task's own default metric (val/pearson, val/f1), with paired
significance values on that metric, recomputed from the predictions on each resample."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from bakeoff.results import stats
from tests.helpers.conll import sentences, write_conll
from tests.helpers.glue import glue_overrides
from tests.helpers.sweeps import CHEAP, leaderboard, multirun, records

SWEEP = ["model=tiny_bert,tiny_roberta", "seed=1,2", "trainer.max_epochs=1", "logger=csv"]


def config_of(record: dict) -> str:
    return f"model={record['config']['model']['name']}"


def on_metric(recs: dict[str, dict], config: str, metric: str):
    """The config's test metric recomputed from each run's predictions file, as a function of
    resample counts, averaged over its runs (seed order), and the number of examples."""
    import pandas as pd

    from bakeoff.results.metric_stats import resampled_metric

    functions = []
    for record in sorted(recs.values(), key=lambda r: r["seed"]):
        if config_of(record) == config:
            path = Path(record["paths"]["run_dir"]) / record["paths"]["predictions"]
            frame = pd.read_csv(path, dtype={"label": str, "pred": str}, keep_default_na=False)
            functions.append(resampled_metric(frame.sort_values("index"), metric))
    return (lambda w: np.mean([f(w) for f in functions], axis=0)), len(frame)


def check_leaderboard(proc, sweep, metric: str) -> dict[str, dict]:
    assert proc.returncode == 0, proc.stderr[-3000:]
    recs = records(sweep)
    assert len(recs) == 4 and {r["status"] for r in recs.values()} == {"completed"}
    assert {r["monitor"]["metric"] for r in recs.values()} == {metric}
    board = leaderboard(sweep)
    assert set(board) == {"model=tiny_bert", "model=tiny_roberta"}
    assert all(row["n"] == "2" for row in board.values())
    means = {c: float(row[f"{metric}_mean"]) for c, row in board.items()}
    selected = [c for c, row in board.items() if row["selected"] == "True"]
    assert selected == [max(means, key=means.get)]  # selected on the task's own val metric
    for config, mean in means.items():  # the mean over the config's two seeds
        vals = [r["metrics"]["val"][metric[4:]] for r in recs.values() if config_of(r) == config]
        assert mean == pytest.approx(sum(vals) / 2, rel=1e-5), config
    other = next(c for c in board if c != selected[0])
    # p and delta on the selection metric, recomputed from the jobs' predictions files on each
    # resample (the mean over the two seeds), and the delta is the test columns' difference
    test_metric = "test/" + metric[4:]
    assert board[other]["statistic"] == test_metric
    best, n = on_metric(recs, selected[0], metric[4:])
    other_metric, _ = on_metric(recs, other, metric[4:])
    p = stats.paired_bootstrap_metric(best, other_metric, n)
    assert float(board[other]["p_bootstrap"]) == pytest.approx(p, rel=1e-4)
    delta = float(board[other][f"{test_metric}_mean"]) - float(
        board[selected[0]][f"{test_metric}_mean"]
    )
    assert float(board[other]["delta"]) == pytest.approx(delta, rel=1e-3, abs=1e-5)
    assert board[other]["vs_best"] in ("within noise", "better on test", "worse on test")
    assert f"Selected on {metric}" in (sweep / "comparison" / "leaderboard.md").read_text()
    return board


@pytest.mark.slow
def test_regression_sweep_selects_on_pearson_with_significance(tmp_path):
    proc, sweep = multirun(tmp_path, *glue_overrides("stsb", tmp_path / "glue"), *SWEEP, *CHEAP)
    board = check_leaderboard(proc, sweep, "val/pearson")
    # the significance statistic is the mean per-example score: -squared error, i.e. -MSE
    recs = records(sweep)
    for config, row in board.items():
        mse = [r["metrics"]["test"]["mse"] for r in recs.values() if config_of(r) == config]
        assert float(row["test/mse_mean"]) == pytest.approx(sum(mse) / 2, rel=1e-5), config
    first = next(sweep.glob("*/test_predictions.csv"))
    with first.open() as f:
        row = next(csv.DictReader(f))
    expected = -((float(row["pred"]) - float(row["label"])) ** 2)
    assert float(row["score"]) == pytest.approx(expected, rel=1e-4)  # 6 significant digits


@pytest.mark.slow
def test_ner_sweep_selects_on_entity_f1_with_significance(tmp_path):
    train = write_conll(tmp_path / "train.txt", sentences(48, seed=2))
    test = write_conll(tmp_path / "test.txt", sentences(16, seed=3))
    data = ["data=conll_files", f"data.source.train={train}", f"data.source.test={test}"]
    proc, sweep = multirun(tmp_path, *data, "optim.lr=5e-3", *SWEEP, *CHEAP)
    board = check_leaderboard(proc, sweep, "val/f1")
    assert {"test/f1_mean", "test/precision_mean", "test/recall_mean"} <= set(
        next(iter(board.values()))
    )
