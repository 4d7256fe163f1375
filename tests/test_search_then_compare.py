"""Per-backbone search, then compare (scripts/search_then_compare.sh): an Optuna study per
backbone, then each backbone at its own best trial's setting on the same seeds, one leaderboard."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from tests.helpers.runs import ONE_SMALL_EPOCH, ROOT

TINY = [
    "hydra.sweeper.n_trials=2",
    *ONE_SMALL_EPOCH,
    "logger=csv",
    "trainer.enable_progress_bar=false",
]


@pytest.mark.slow
def test_each_backbone_at_its_best_trial_in_one_leaderboard(tmp_path):
    from bakeoff.results.best_trial import best_overrides

    env = {**os.environ, "PYTHON": sys.executable, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "search_then_compare.sh"), "final"]
        + ["tiny_bert tiny_roberta", "1,2", *TINY],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = tmp_path / "logs" / "multiruns" / "final"
    with open(out / "comparison" / "leaderboard.csv") as f:
        board = {row["config"]: row for row in csv.DictReader(f)}
    assert set(board) == {"model.name=tiny_bert", "model.name=tiny_roberta"}
    assert all(row["n"] == "2" for row in board.values())  # the same two seeds each
    db = tmp_path / "logs" / "optuna.db"
    for model in ("tiny_bert", "tiny_roberta"):
        best = dict(o.split("=", 1) for o in best_overrides(str(db), f"{model}-amazon_reviews"))
        records = [json.loads(p.read_text()) for p in (out / model).glob("*/results.json")]
        assert sorted(r["seed"] for r in records) == [1, 2]
        for r in records:  # trained at the study's best setting, found on validation
            assert r["config"]["optim"]["lr"] == pytest.approx(float(best["optim.lr"]))
            head_lr = float(best["finetune.head_lr"])
            assert r["config"]["finetune"]["head_lr"] == pytest.approx(head_lr)


def test_best_trial_names_the_studies_when_one_is_missing(tmp_path):
    import optuna

    from bakeoff.errors import BakeoffError
    from bakeoff.results.best_trial import best_overrides

    db = tmp_path / "s.db"
    study = optuna.create_study(study_name="a-data", storage=f"sqlite:///{db}")
    with pytest.raises(BakeoffError, match="no completed trial"):
        best_overrides(str(db), "a-data")
    study.add_trial(
        optuna.trial.create_trial(
            params={"optim.lr": 1e-4},
            distributions={"optim.lr": optuna.distributions.LogUniformDistribution(1e-5, 1e-3)},
            value=0.5,
        )
    )
    assert best_overrides(str(db), "a-data") == ["optim.lr=0.0001"]
    with pytest.raises(BakeoffError, match="studies there: a-data"):
        best_overrides(str(db), "b-data")
