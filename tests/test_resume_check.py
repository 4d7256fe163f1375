"""resume=true with another config stops before anything trains or is rewritten (issue 24, item 1)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import ONE_SMALL_EPOCH, ROOT, TINY, compose, run_cli

CLI = ["model=tiny_bert", "logger=csv", "trainer.enable_progress_bar=false", *ONE_SMALL_EPOCH]


def stamps(root: Path) -> dict[str, str]:
    """Every file under `root` with the hash of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_config_diff_names_training_keys_only():
    from bakeoff.runs.resume_check import config_diff

    old = {"optim": {"lr": 5e-5}, "logger": {"csv": {}}, "paths": {"root_dir": "/a"}, "seed": 1}
    new = {"optim": {"lr": 1e-3}, "logger": {"wandb": {}}, "paths": {"root_dir": "/b"}, "seed": 1}
    assert config_diff(old, new) == [("optim.lr", 5e-5, 1e-3)]
    horizon = {"trainer": {"max_epochs": 2}}
    assert config_diff(horizon, {"trainer": {"max_epochs": 4}}) == [("trainer.max_epochs", 2, 4)]
    # a budget stops the run early without re-planning the schedule: the horizon may differ
    assert config_diff(horizon, {"trainer": {"max_epochs": 4}, "budget": {"epochs": 1}}) == []


def test_resume_of_a_checkpoint_with_another_config_is_refused(tmp_path):
    """An interrupted run (last.ckpt, no record) resumed with another LR: refused, from the
    checkpoint's own config, and nothing in the run dir changes."""
    from bakeoff.runs.resume_check import ResumeMismatch
    from bakeoff.runs.train import run

    first = compose(tmp_path, *TINY, "trainer.max_epochs=1", "logger=csv")
    run(first)
    run_dir = Path(first.paths.output_dir)
    (run_dir / "results.json").unlink()  # as if killed before its record: only last.ckpt left
    before = stamps(run_dir)
    changed = compose(
        tmp_path, *TINY, "trainer.max_epochs=1", "logger=csv", "resume=true", "optim.lr=1e-3"
    )
    with pytest.raises(ResumeMismatch, match=r"optim\.lr: 5e-05 -> 0\.001.*name="):
        run(changed)
    assert stamps(run_dir) == before
    # A logger is not training: the run goes on (here: from last.ckpt to its test).
    other_logger = compose(
        tmp_path, *TINY, "trainer.max_epochs=1", "logger=tensorboard", "resume=true"
    )
    assert run(other_logger)["status"] == "completed"


@pytest.mark.slow
def test_resumed_sweep_and_run_with_another_config_stop_and_rewrite_nothing(tmp_path):
    # A sweep: its completed job asked to resume with another LR stops the sweep before any job
    # starts, and nothing in it is rewritten (records, checkpoints, Hydra's .hydra/ files).
    sweep_args = ["-m", "name=s", "seed=1", *CLI]
    done = run_cli(str(ROOT / "train.py"), *sweep_args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    sweep = tmp_path / "logs" / "multiruns" / "s"
    before = stamps(sweep)
    proc = run_cli(
        str(ROOT / "train.py"), *sweep_args, "resume=true", "optim.lr=1e-3", cwd=tmp_path
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: job 0 [") and "optim.lr: 5e-05 -> 0.001" in last, last
    assert "Launching" not in proc.stdout + proc.stderr  # stopped before any job
    assert stamps(sweep) == before

    # A single run in that job's dir, resumed with another LR and max length: one line.
    job = sweep / "0"
    proc = run_cli(
        str(ROOT / "train.py"),
        f"hydra.run.dir={job}",
        "seed=1",
        *CLI,
        "resume=true",
        "optim.lr=1e-3",
        "data.max_length=64",
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: resume: {job} trained another config"), proc.stderr
    assert "data.max_length: 32 -> 64" in last and "optim.lr: 5e-05 -> 0.001" in last
    assert "name=" in last
    assert stamps(sweep) == before
