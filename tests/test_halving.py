"""The successive-halving sweeper (`hydra/sweeper=halving`, issue 22): real Hydra multiruns of
tiny models through the basic, joblib and SLURM launchers; the race's arithmetic on its own."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import lightning as L
import pytest
import torch

from bakeoff.race import plan
from tests.conftest import ROOT, compose, run_cli
from tests.helpers.interrupts import start, wait_for
from tests.test_slurm import slurm_cluster  # noqa: F401 (the session fixture)

# 3 configurations, one seed; lr=1e-12 (the head's too) cannot learn and is out at rung 0 on the
# val loss (keep_min=2 keeps two). The val loss, not F1: on 16 examples F1 ties too easily.
RACE = [
    "-m",
    "hydra/sweeper=halving",
    "hydra.sweeper.eta=2",
    "hydra.sweeper.keep_min=2",
    "model=tiny_bert",
    "optim.lr=1e-12,1e-3,3e-4",
    "optim.head_lr=null",
    "monitor.metric=val/loss",
    "monitor.mode=min",
    "trainer.max_epochs=2",
    "data.limit_train=48",
    "data.limit_val=16",
    "data.limit_test=16",
    "data.max_length=32",
    "data.batch_size=16",
    "callbacks.early_stopping=null",
    "callbacks.progress_bar=null",
    "logger=csv",
    f"+callbacks.count._target_={__name__}.CountEpochs",
]
WORSE = "optim.lr=1e-12"


class CountEpochs(L.Callback):
    """Appends `<epoch>` to the run dir's epochs.txt at every train epoch start."""

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        with open(Path(trainer.default_root_dir) / "epochs.txt", "a") as f:
            f.write(f"{trainer.current_epoch}\n")


def race(tmp_path: Path, *extra: str):
    sweep_dir = tmp_path / "race"
    proc = run_cli(str(ROOT / "train.py"), *RACE, *extra, f"hydra.sweep.dir={sweep_dir}", cwd=ROOT)
    return proc, sweep_dir


def records(sweep_dir: Path) -> dict[str, dict]:
    return {
        p.parent.name: json.loads(p.read_text()) for p in sorted(sweep_dir.glob("*/results.json"))
    }


def params(record: dict) -> dict[str, torch.Tensor]:
    path = Path(record["paths"]["run_dir"]) / "checkpoints" / "last.ckpt"
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def assert_race_result(sweep_dir: Path, tmp_path: Path, check_straight: bool = True) -> None:
    state = json.loads((sweep_dir / "halving.json").read_text())
    assert state["budgets"] == [1, 2] and state["rung"] == 2
    by_lr = {c["short"]: c for c in state["configurations"].values()}
    assert by_lr[WORSE]["status"] == "eliminated" and by_lr[WORSE]["stopped_at"] == 1
    assert {by_lr[k]["status"] for k in by_lr if k != WORSE} == {"finished"}
    jobs = records(sweep_dir)
    assert sorted(jobs) == ["0", "1", "2"]  # one dir per job, kept across the rungs
    assert jobs["0"]["status"] == "paused" and jobs["0"]["epochs_trained"] == 1
    assert jobs["0"]["metrics"]["test"] == {}
    for job in ("1", "2"):
        assert jobs[job]["status"] == "completed" and jobs[job]["epochs_trained"] == 2
        epochs = (sweep_dir / job / "epochs.txt").read_text().split()
        assert epochs.count("0") == 1  # rung 0 trained once
    board = (sweep_dir / "comparison" / "leaderboard.md").read_text()
    assert "stopped at epoch 1 of 2" in board
    # The table's status of the stopped configuration (its last row), not "1 paused".
    rows = [line for line in board.splitlines() if line.startswith("|  | ")]
    assert f"| {WORSE} | stopped at epoch 1 of 2 (val/loss " in rows[-1], board
    assert "paused" not in "\n".join(rows)
    if not check_straight:
        return
    # The survivors' records equal straight runs of them (same seed, no budget, no race).
    for job in ("1", "2"):
        lr = jobs[job]["config"]["optim"]["lr"]
        straight_overrides = [o for o in RACE[4:] if not o.startswith(("optim.lr=", "+callbacks"))]
        cfg = compose(tmp_path, *straight_overrides, f"optim.lr={lr}", "trainer.accelerator=cpu")
        cfg.paths.output_dir = str(tmp_path / f"straight{job}")
        from bakeoff.runs.train import run

        straight = run(cfg)
        assert straight["history"] == jobs[job]["history"]
        assert straight["metrics"] == jobs[job]["metrics"]
        a, b = params(straight), params(jobs[job])
        assert not [k for k in a if not torch.equal(a[k], b[k])]


@pytest.mark.slow
def test_race_through_the_basic_launcher_drops_the_worse_config_and_equals_straight_runs(
    tmp_path,
):
    proc, sweep_dir = race(tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert_race_result(sweep_dir, tmp_path)
    # Re-running the finished race trains nothing.
    before = {p: p.stat().st_mtime_ns for p in sweep_dir.glob("*/results.json")}
    proc, _ = race(tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in sweep_dir.glob("*/results.json")} == before


@pytest.mark.slow
def test_race_through_joblib(tmp_path):
    proc, sweep_dir = race(tmp_path, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert_race_result(sweep_dir, tmp_path, check_straight=False)


@pytest.mark.slow
def test_killed_race_continues_and_no_job_trains_twice(tmp_path):
    sweep_dir = tmp_path / "race"
    args = [*RACE, f"hydra.sweep.dir={sweep_dir}"]
    proc = start(ROOT, *args)

    def in_rung_1() -> bool:  # rung 0 decided, a survivor training its second epoch
        state = sweep_dir / "halving.json"
        if not state.is_file() or json.loads(state.read_text())["rung"] < 1:
            return False
        return any("1" in p.read_text().split() for p in sweep_dir.glob("*/epochs.txt"))

    wait_for(in_rung_1, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    eliminated = sweep_dir / "0" / "results.json"
    stamp = eliminated.stat().st_mtime_ns

    proc = start(ROOT, *args)
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out[-3000:]
    assert "continuing the race" in out
    assert eliminated.stat().st_mtime_ns == stamp  # not launched again
    assert_race_result(sweep_dir, tmp_path, check_straight=False)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["hydra.sweeper.eta=1"], "hydra.sweeper.eta: 1 keeps every configuration"),
        (["hydra.sweeper.min_epochs=3"], "hydra.sweeper.min_epochs: 3 is not below"),
        (["optim.lr=1e-3", "seed=1,2"], "the sweep has 1 configuration(s): a race needs"),
        (["hydra.sweeper.screen=logmee"], "hydra.sweeper.screen: 'logmee' is not a score; choose"),
    ],
)
def test_wrong_settings_end_in_one_error_before_anything_trains(extra, message, tmp_path):
    proc, sweep_dir = race(tmp_path, *extra)
    assert proc.returncode != 0
    assert f"error: {message}" in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not list(sweep_dir.glob("*/results.json"))


@pytest.mark.slow
def test_a_screen_leaves_the_lower_scored_backbone_out_before_rung_0(tmp_path):
    """`hydra.sweeper.screen=logme screen_top_k=1`: of tiny_bert and tiny_roberta (2 learning
    rates each), one backbone's 2 configurations race; the other's never train, and the
    leaderboard and race table say why, with the score."""
    models = ["model=tiny_bert,tiny_roberta", "optim.lr=1e-3,3e-4"]
    extra = ["hydra.sweeper.screen=logme", "hydra.sweeper.screen_top_k=1", *models]
    proc, sweep_dir = race(tmp_path, *extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = json.loads((sweep_dir / "halving.json").read_text())

    def model(overrides: list[str]) -> str:
        return next(o for o in overrides if o.startswith("model="))

    statuses: dict[str, set[str]] = {}
    for entry in state["configurations"].values():
        statuses.setdefault(model(entry["overrides"]), set()).add(entry["status"])
    assert sorted(map(frozenset, statuses.values()), key=sorted) == [{"finished"}, {"screened"}]
    out = next(c for c in state["configurations"].values() if c["status"] == "screened")
    assert out["reason"].startswith("screened out: logme ") and "top 1" in out["reason"]
    assert len(state["screened_out"]) == 2
    trained = records(sweep_dir)
    assert len(trained) == 2  # the screened configurations' jobs never ran
    assert {model(r["overrides"]) for r in trained.values()} == {
        o for o, s in statuses.items() if s == {"finished"}
    }
    board = (sweep_dir / "comparison" / "leaderboard.md").read_text()
    assert board.count("screened out: logme") == 2, board


def test_budgets_and_who_is_kept():
    assert plan.budgets(1, 3, 6) == [1, 3, 6]
    assert plan.budgets(1, 3, 9) == [1, 3, 9]
    assert plan.budgets(2, 2, 5) == [2, 4, 5]
    scores = {"a": 0.5, "b": 0.9, "c": 0.7, "d": float("nan")}
    assert plan.kept({k: plan.score([v], "max") for k, v in scores.items()}, "max", 3, 1) == ["b"]
    assert plan.kept({k: plan.score([v], "min") for k, v in scores.items()}, "min", 2, 1) == [
        "a",
        "c",
    ]
    assert plan.n_kept(12, 3, 1) == 4 and plan.n_kept(4, 3, 1) == 1 and plan.n_kept(3, 3, 2) == 2
    assert plan.score([0.5, None], "max") == float("-inf")


def write_job(root: Path, n: int, lr: str, seed: int, vals: list[float], test: float, horizon=6):
    run_dir = root / str(n)
    run_dir.mkdir(parents=True)
    record = {
        "status": "completed",
        "overrides": [f"optim.lr={lr}", f"seed={seed}"],
        "seed": seed,
        "model": {"name": "tiny_bert"},
        "data": {"name": "amazon_reviews"},
        "monitor": {"metric": "val/acc", "mode": "max", "best": max(vals)},
        "history": [{"epoch": e, "val/acc": v} for e, v in enumerate(vals)],
        "metrics": {"val": {"acc": max(vals)}, "test": {"acc": test}},
        "timing": {"fit_s": 2.0 * len(vals)},
        "config": {"trainer": {"max_epochs": horizon}},
    }
    (run_dir / "results.json").write_text(json.dumps(record))


def test_replay_on_records_selects_regrets_and_counts_epochs(tmp_path, capsys):
    from bakeoff.results.comparison import main
    from bakeoff.results.halving_replay import ReplayError, replay

    # a: best at the end; b: good early, flat later; c: bad throughout (2 seeds each, 6 epochs)
    curves = {
        "a": ([0.5, 0.6, 0.7, 0.8, 0.85, 0.9], 0.88),
        "b": ([0.7, 0.72, 0.74, 0.75, 0.75, 0.75], 0.74),
        "c": ([0.3, 0.3, 0.3, 0.3, 0.3, 0.3], 0.3),
    }
    n = 0
    for lr, (vals, test) in curves.items():
        for seed in (1, 2):
            write_job(tmp_path, n, lr, seed, vals, test)
            n += 1
    # eta 3: rung 0 (1 epoch) keeps 1 of 3 -> b (0.7) -- the early leader, not the final one
    result = replay([tmp_path], eta=3, min_epochs=1)
    assert result["budgets"] == [1, 3, 6]
    assert result["race_selects"] == "optim.lr=b" and result["full_selects"] == "optim.lr=a"
    assert result["val_regret"] == pytest.approx(0.9 - 0.75)
    assert result["test_regret"] == pytest.approx(0.88 - 0.74)
    assert result["epochs_fraction"] == pytest.approx((2 * 6 + 2 + 2) / 36)
    # keep_min 2 keeps a as well: the race agrees with the full sweep
    result = replay([tmp_path], eta=3, min_epochs=1, keep_min=2)
    assert result["race_selects"] == result["full_selects"] == "optim.lr=a"
    assert result["val_regret"] == 0 and result["test_regret"] == 0
    assert main([str(tmp_path), "--replay-halving", "--eta", "3", "--keep-min", "2"]) == 0
    out = capsys.readouterr().out
    assert "full sweep selects: optim.lr=a (the same)" in out and "stopped at epoch 1 of 6" in out
    # another horizon in one job: not a valid replay
    write_job(tmp_path, n, "d", 1, [0.1, 0.2, 0.3], 0.3, horizon=3)
    with pytest.raises(ReplayError, match="same horizon"):
        replay([tmp_path])


def test_a_failed_job_leaves_the_race_with_its_reason_and_the_race_goes_on(tmp_path):
    """The race's logic on records a stand-in launcher writes (no training): lr=bad fails at
    rung 0, the others race on; a re-run launches nothing."""
    from bakeoff.race.race import new_state, run_race

    quality = {"a": 0.9, "b": 0.8, "c": 0.7, "bad": 0.95}
    jobs = [[f"optim.lr={lr}", f"seed={s}"] for lr in quality for s in (1, 2)]
    launched: list[list[str]] = []

    def launch(batch, initial_job_idx):
        for overrides in batch:
            launched.append(overrides)
            values = dict(o.split("=", 1) for o in overrides)
            budget = int(values.get("budget.epochs", 6))
            job_dir = tmp_path / values["hydra.sweep.subdir"]
            job_dir.mkdir(exist_ok=True)
            failed = values["optim.lr"] == "bad"
            record = {
                "status": "failed" if failed else ("paused" if budget < 6 else "completed"),
                "error": "ValueError: boom" if failed else None,
                "epochs_trained": budget,
                "monitor": {
                    "metric": "val/acc",
                    "mode": "max",
                    "best": quality[values["optim.lr"]],
                },
                "timing": {"fit_s": 1.0},
            }
            (job_dir / "results.json").write_text(json.dumps(record))

    state = run_race(tmp_path, new_state(jobs, 3, 1, 1, 6), launch)
    by_lr = {c["short"]: c for c in state.configurations.values()}
    assert by_lr["optim.lr=bad"]["status"] == "failed"
    assert "ValueError: boom" in by_lr["optim.lr=bad"]["reason"]
    assert by_lr["optim.lr=a"]["status"] == "finished"
    assert by_lr["optim.lr=b"]["status"] == by_lr["optim.lr=c"]["status"] == "eliminated"
    assert len(launched) == 8 + 2 + 2  # rung 0 all, then a's two seeds to 3 and to 6
    launched.clear()
    run_race(tmp_path, new_state(jobs, 3, 1, 1, 6), launch)
    assert launched == []
    from bakeoff.race.report import cost

    spent = cost(state)
    assert spent["epochs"] == 2 * 6 + 6 * 1 and spent["full_epochs"] == 48


@pytest.mark.slow
@pytest.mark.usefixtures("slurm_cluster")
def test_race_through_slurm(tmp_path):
    """Every rung as SLURM jobs (hydra/launcher=slurm on the local one-node cluster of
    scripts/slurm_local.sh; skipped with the reason where it cannot start)."""
    from tests.test_slurm import job_ids

    proc, sweep_dir = race(tmp_path, "hydra/launcher=slurm", "hydra.launcher.timeout_min=10")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert_race_result(sweep_dir, tmp_path, check_straight=False)
    assert len(job_ids(sweep_dir)) == 3 + 2  # rung 0's three jobs, rung 1's two: none twice
