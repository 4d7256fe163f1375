"""Sweeps through the real CLI: `python train.py -m ...` (Hydra multirun, basic launcher).

Acceptance 1: four jobs, four offline W&B runs in one group, a 2-row leaderboard with n=2 each,
and a W&B `comparison` run in the same group. Acceptance 2: a job that fails at run time is
recorded, the others complete, the leaderboard shows it, the process exits 1 naming it.
Acceptance 6: the leaderboard is what the records say (edit a record, the table follows).
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
from itertools import product
from pathlib import Path

import pytest

from tests.helpers.runs import compose
from tests.helpers.sweeps import CHEAP, leaderboard, multirun, records
from tests.helpers.wandb_files import offline_runs

# The acceptance command's overrides, plus what only makes it cheaper (smaller val/test splits,
# shorter sequences, no progress bar); the wandb logger is the default, named to be explicit.
SWEEP = ["model=tiny_bert,tiny_roberta", "seed=1,2", "trainer.max_epochs=1", "data.limit_train=64"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return multirun(tmp_path_factory.mktemp("sweep"), *SWEEP, *CHEAP)


def test_sweep_writes_one_record_and_one_wandb_run_per_job(sweep):
    proc, sweep_dir = sweep
    assert proc.returncode == 0, proc.stderr[-3000:]
    recs = records(sweep_dir)
    assert sorted(recs) == ["0", "1", "2", "3"]
    assert {r["status"] for r in recs.values()} == {"completed"}
    assert {(r["model"]["name"], r["seed"]) for r in recs.values()} == set(
        product(["tiny_bert", "tiny_roberta"], [1, 2])
    )
    assert {r["group"] for r in recs.values()} == {sweep_dir.name}
    # One process runs the jobs in turn: only job 0 pays for the imports in its start-up.
    startup = {n: r["timing"]["startup_s"] for n, r in recs.items()}
    assert all(0 < startup[n] < startup["0"] for n in ("1", "2", "3")), startup

    jobs = [run for n in recs for run in offline_runs(sweep_dir / n / "wandb")]
    assert len(jobs) == 4  # one run per job, none merged into another
    assert len({run.run_id for run in jobs}) == 4
    assert {run.group for run in jobs} == {sweep_dir.name}
    assert {run.job_type for run in jobs} == {"train"}
    by_id = {run.run_id: run for run in jobs}
    for n, rec in recs.items():
        run = by_id[rec["run_id"]]
        assert run.path.is_relative_to(sweep_dir / n)
        assert run.display_name == rec["name"] == ",".join(rec["overrides"])
        assert f"model={rec['model']['name']}" in run.display_name
        assert f"seed={rec['seed']}" in run.display_name
        assert {"model", "data", "optim", "finetune", "trainer"} <= run.config_keys  # resolved cfg
        assert "final/test/f1_macro" in run.history
        assert run.exit_code == 0


def test_sweep_prints_a_two_row_leaderboard(sweep):
    proc, sweep_dir = sweep
    out = proc.stdout
    assert "bakeoff leaderboard" in out
    assert "Jobs: 4 completed." in out
    for model in ("model=tiny_bert", "model=tiny_roberta"):
        assert model in out
    rows = leaderboard(sweep_dir)
    assert sorted(rows) == ["model=tiny_bert", "model=tiny_roberta"]
    assert [int(r["n"]) for r in rows.values()] == [2, 2]
    assert sum(r["selected"] == "True" for r in rows.values()) == 1
    for suffix in ("md", "tex", "html"):
        assert (sweep_dir / "comparison" / f"leaderboard.{suffix}").is_file()
    assert list((sweep_dir / "comparison").glob("*.png"))


def test_sweep_ends_with_a_wandb_comparison_run_in_the_same_group(sweep):
    _, sweep_dir = sweep
    runs = offline_runs(sweep_dir / "wandb")  # the comparison run's dir sits in the sweep dir
    assert len(runs) == 1
    run = runs[0]
    assert run.job_type == "comparison" and run.display_name == "comparison"
    assert run.group == sweep_dir.name
    assert run.project == "bakeoff"
    assert json.loads(run.history["comparison/leaderboard/_type"]) == "table-file"
    assert json.loads(run.history["comparison/leaderboard/nrows"]) == 2
    pngs = {p.stem for p in (sweep_dir / "comparison").glob("*.png")}
    logged = {k.split("/")[1] for k, v in run.history.items() if v == '"image-file"'}
    assert logged == pngs and pngs
    winner = next(c for c, r in leaderboard(sweep_dir).items() if r["selected"] == "True")
    assert json.loads(run.summary["selected"]) == winner
    assert run.exit_code == 0
    media = run.path.parent / "files" / "media"
    assert len(list(media.rglob("*.table.json"))) == 1
    assert len(list(media.rglob("*.png"))) == len(pngs)


def test_leaderboard_is_built_from_the_records(sweep, tmp_path):
    """Acceptance 6: every number comes from results.json (and predictions): edit, re-compare."""
    from bakeoff.results import compare

    _, original = sweep
    sweep_dir = tmp_path / original.name
    shutil.copytree(original, sweep_dir)
    shutil.rmtree(sweep_dir / "comparison")
    recs = records(sweep_dir)

    def by_model(name: str) -> list[dict]:
        return [r for r in recs.values() if r["model"]["name"] == name]

    # As recorded: the table's means are the means of the record values, to the last digit.
    table = compare(sweep_dir, plots=False, formats=["csv"]).table.set_index("config")
    for model in ("tiny_bert", "tiny_roberta"):
        row = table.loc[f"model={model}"]
        for split, metric in product(("val", "test"), ("f1_macro", "acc", "loss")):
            values = [r["metrics"][split][metric] for r in by_model(model)]
            assert row[f"{split}/{metric}_mean"] == pytest.approx(
                statistics.mean(values), rel=1e-12
            )
            assert row[f"{split}/{metric}_std"] == pytest.approx(
                statistics.stdev(values), rel=1e-12
            )
        assert row["fit_s"] == pytest.approx(
            statistics.mean(r["timing"]["fit_s"] for r in by_model(model))
        )

    # Edit the records of the configuration that lost on val: it must now win, with the new values.
    loser = table.index[~table["selected"]][0]
    for n, rec in recs.items():
        if f"model={rec['model']['name']}" == loser:
            rec["metrics"]["val"]["f1_macro"] = 0.97 + 0.01 * rec["seed"]
            rec["model"]["params_total"] = 123456789
            (sweep_dir / n / "results.json").write_text(json.dumps(rec))
    result = compare(sweep_dir, plots=False, formats=["csv", "md"])
    assert result.best == loser
    row = result.table.set_index("config").loc[loser]
    assert row["val/f1_macro_mean"] == pytest.approx(0.985)
    assert row["val/f1_macro_std"] == pytest.approx(math.sqrt(0.00005))
    assert row["params_total"] == 123456789
    assert "123.5M" in (sweep_dir / "comparison" / "leaderboard.md").read_text()
    assert leaderboard(sweep_dir)[loser]["selected"] == "True"

    # The significance test reads the saved predictions: make the other config's predictions
    # identical to the winner's, and the difference is exactly nothing (p = 1).
    winner_preds = {r["seed"]: Path(r["paths"]["run_dir"]).name for r in by_model(loser[6:])}
    for rec in recs.values():
        if f"model={rec['model']['name']}" != loser:
            src = sweep_dir / winner_preds[rec["seed"]] / "test_predictions.csv"
            dst = sweep_dir / Path(rec["paths"]["run_dir"]).name / "test_predictions.csv"
            shutil.copyfile(src, dst)
    other = compare(sweep_dir, plots=False, formats=[]).table.set_index("config")
    assert other.loc[table.index[table["selected"]][0], "p_bootstrap"] == pytest.approx(1.0)


def test_failing_job_is_recorded_and_the_sweep_exits_non_zero(tmp_path):
    """Acceptance 2: `seed=-1` composes (an int) but fails in the job (seed_everything rejects it)."""
    proc, sweep_dir = multirun(
        tmp_path, "model=tiny_bert,tiny_roberta", "seed=1,-1", *SWEEP[2:], *CHEAP
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    recs = records(sweep_dir)
    assert sorted(recs) == ["0", "1", "2", "3"]  # every job ran and wrote its record
    failed = {n: r for n, r in recs.items() if r["status"] == "failed"}
    assert {r["seed"] for r in failed.values()} == {-1}
    assert len(failed) == 2
    for rec in failed.values():
        assert rec["error"].startswith("ValueError: -1 is not in bounds")
    assert {r["status"] for n, r in recs.items() if n not in failed} == {"completed"}

    # the failed jobs are named at the end, on stderr, with their job dir and overrides
    assert "2 job(s) failed" in proc.stderr
    for n, rec in failed.items():
        assert f"job {n} [{rec['name']}]: ValueError: -1 is not in bounds" in proc.stderr
    # ... and stay in the leaderboard, marked
    assert "Jobs: 2 completed, 2 failed." in proc.stdout
    rows = leaderboard(sweep_dir)
    assert sorted(rows) == ["model=tiny_bert", "model=tiny_roberta"]
    for row in rows.values():
        assert row["n"] == "1" and row["n_jobs"] == "2"
        assert row["status"].startswith("1 ok, 1 failed (ValueError: -1 is not in bounds")
    assert "1 ok, 1 failed" in (sweep_dir / "comparison" / "leaderboard.md").read_text()
    # the completed jobs still logged to W&B, and so did the comparison
    assert len(offline_runs(sweep_dir / "wandb")) == 1
    assert sum(len(offline_runs(sweep_dir / n / "wandb")) for n in recs if n not in failed) == 2


# ------------------------------------------------------------------ experiments (in-process)

EXPERIMENTS = {
    "compare_text": {"finetune": ["full", "linear_probe", "layer_decay"], "seed": ["1", "2", "3"]},
    "compare_vision": {
        "model": ["mobilenetv2", "efficientnet_lite0"],
        "finetune": ["linear_probe", "full"],
        "seed": ["1", "2", "3"],
    },
    "smoke": {"model": ["tiny_bert", "tiny_roberta"], "seed": ["1", "2"]},
}


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_experiment_sweeps_by_itself(name, tmp_path):
    """`-m experiment=X` sweeps the experiment's own axes; each job composes; tags reach W&B."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    cfg = compose(tmp_path, f"experiment={name}")
    params = dict(HydraConfig.get().sweeper.params)
    axes = {key: value.split(",") for key, value in params.items()}
    assert axes == EXPERIMENTS[name]
    assert name in cfg.tags
    assert OmegaConf.to_container(cfg.logger.wandb, resolve=True)["tags"] == list(cfg.tags)
    for values in product(*axes.values()):
        choice = dict(zip(axes, values, strict=True))
        job = compose(tmp_path, f"experiment={name}", *(f"{k}={v}" for k, v in choice.items()))
        assert job.model.name == choice.get("model", job.model.name)
        assert job.finetune.name == choice.get("finetune", job.finetune.name)
        assert job.seed == int(choice["seed"])
        OmegaConf.to_container(job, resolve=True, throw_on_missing=True)


def test_job_failing_after_wandb_started_marks_its_run_failed(tiny_cfg):
    """The failed job's W&B run is finished with exit code 1 (W&B shows it failed), not merged
    into the next job's run."""
    from bakeoff.runs.train import run

    # A precision Lightning refuses when the Trainer is built, after the W&B run started (config
    # mistakes bakeoff.checks.validate knows, such as an unknown monitor.metric, fail before it starts).
    cfg = tiny_cfg("logger=wandb", "trainer.max_epochs=1", "trainer.precision=bf17")
    with pytest.raises(Exception, match="bf17"):
        run(cfg)
    record = json.loads((Path(cfg.paths.output_dir) / "results.json").read_text())
    assert record["status"] == "failed" and "bf17" in record["error"]
    (wandb_run,) = offline_runs(Path(cfg.paths.output_dir) / "wandb")
    assert wandb_run.exit_code == 1

    import wandb

    assert wandb.run is None  # finished: the next job starts a run of its own
