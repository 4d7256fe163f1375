"""A sweep over two tiny backbones on a regression fixture and on an NER fixture: each ends with a
leaderboard selected on the task's own default metric (val/pearson, val/f1), with paired
significance values computed from the tasks' per-example scores (squared error; entity counts)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from bakeoff.results import stats
from tests.glue_fixtures import glue_overrides
from tests.test_multirun import CHEAP, leaderboard, multirun, records
from tests.test_token_classification import sentences, write_conll

SWEEP = ["model=tiny_bert,tiny_roberta", "seed=1,2", "trainer.max_epochs=1", "logger=csv"]


def config_of(record: dict) -> str:
    return f"model={record['config']['model']['name']}"


def pooled_values(recs: dict[str, dict], config: str):
    """Per example (by index), the config's per-example values averaged over its runs, and the
    statistic they feed: the mean of `score`, or the F1 of `tp,fp,fn` counts."""
    by_index: dict[int, list[list[float]]] = {}
    for record in recs.values():
        if config_of(record) != config:
            continue
        with open(Path(record["paths"]["run_dir"]) / record["paths"]["predictions"]) as f:
            for row in csv.DictReader(f):
                columns = ["score"] if "score" in row else ["tp", "fp", "fn"]
                by_index.setdefault(int(row["index"]), []).append([float(row[c]) for c in columns])
    values = np.array([np.mean(by_index[i], axis=0) for i in sorted(by_index)])
    return values, stats.mean_score if columns == ["score"] else stats.f1_from_counts


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
    # p and delta recomputed from the jobs' predictions files: each example's per-example values
    # averaged over the two seeds, then the paired bootstrap of the task's statistic
    best_values, function = pooled_values(recs, selected[0])
    other_values, _ = pooled_values(recs, other)
    p = stats.paired_bootstrap(best_values, other_values, statistic=function)
    assert float(board[other]["p_bootstrap"]) == pytest.approx(p, rel=1e-4)
    delta = stats.statistic_of(other_values, function) - stats.statistic_of(best_values, function)
    assert float(board[other]["delta"]) == pytest.approx(delta, rel=1e-4, abs=1e-9)
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
