"""`hparams_search=optuna`: trials are real jobs, the study optimises the val metric, and the
same command again continues the same study (sqlite storage)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.helpers.runs import ONE_SMALL_EPOCH, ROOT, run_cli

SEARCH = [
    "hparams_search=optuna",
    "hydra.sweeper.n_trials=2",
    "model=tiny_bert",
    *ONE_SMALL_EPOCH,
    "logger=csv",
]


def trials(db) -> list[tuple[str, float | None]]:
    with sqlite3.connect(db) as con:
        return con.execute(
            "SELECT t.state, v.value FROM trials t LEFT JOIN trial_values v USING (trial_id)"
            " ORDER BY t.trial_id"
        ).fetchall()


@pytest.mark.slow
def test_optuna_search_optimises_val_and_resumes(tmp_path):
    first = run_cli(str(ROOT / "train.py"), *SEARCH, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    db = tmp_path / "logs" / "optuna.db"
    assert db.is_file()
    (sweep,) = (tmp_path / "logs" / "multiruns").iterdir()
    recs = [json.loads(p.read_text()) for p in sorted(sweep.glob("*/results.json"))]
    assert len(recs) == 2 and {r["status"] for r in recs} == {"completed"}
    lrs = {(r["config"]["optim"]["lr"], r["config"]["finetune"]["head_lr"]) for r in recs}
    assert len(lrs) == 2  # the sampler chose the learning rates
    for lr, head_lr in lrs:
        assert 1e-5 <= lr <= 1e-3 and 1e-4 <= head_lr <= 1e-2
    # each trial's value is its job's best val metric (what train.py returns), never test
    assert [v for _, v in trials(db)] == pytest.approx(sorted_by_job(recs))
    assert {s for s, _ in trials(db)} == {"COMPLETE"}

    again = run_cli(str(ROOT / "train.py"), *SEARCH, "hydra.sweeper.n_trials=1", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(trials(db)) == 3  # the same study, continued


def sorted_by_job(recs: list[dict]) -> list[float]:
    return [
        r["monitor"]["best"]
        for r in sorted(recs, key=lambda r: int(r["paths"]["run_dir"].rsplit("/", 1)[1]))
    ]
