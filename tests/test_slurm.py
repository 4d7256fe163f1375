"""Sweeps and DDP on a real SLURM cluster: the one-node cluster of scripts/slurm_local.sh.

The session fixture starts it (installing Debian's slurm and munge packages if they are missing);
where it cannot (not root, no apt, daemons that do not come up) the tests are skipped with the
reason. CI (.ci/run) starts the cluster before the suite, so there they run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.runs import ONE_SMALL_EPOCH, ROOT, run_cli

TINY = ("model=tiny_bert", *ONE_SMALL_EPOCH, "hydra.launcher.timeout_min=10")


@pytest.fixture(scope="session")
def slurm_cluster():
    if os.geteuid() != 0:
        pytest.skip(
            "SLURM tests need root to start munged/slurmctld/slurmd (scripts/slurm_local.sh)"
        )
    if shutil.which("sinfo") is None and shutil.which("apt-get") is None:
        pytest.skip("slurm is not installed and there is no apt-get to install it")
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "slurm_local.sh"), "start"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        pytest.skip(f"the local SLURM cluster did not start: {(proc.stderr or proc.stdout)[-800:]}")
    return True


def job_ids(sweep_dir: Path) -> list[str]:
    """SLURM job ids, from submitit's folders (`.submitit/<job id>/`; array jobs `<id>_<i>`)."""
    folders = (sweep_dir / ".submitit").iterdir()  # an array's own folder holds no job log
    return sorted(p.name for p in folders if p.is_dir() and list(p.glob("*_log.out")))


def job_field(job_id: str, field: str) -> str:
    out = subprocess.run(
        ["scontrol", "show", "job", job_id], capture_output=True, text=True, check=True
    ).stdout
    values = [w.split("=", 1)[1] for w in out.split() if w.startswith(f"{field}=")]
    assert values, out
    return values[0]


def final_state(job_id: str, timeout_s: float = 60.0) -> str:
    """The job's state once SLURM has seen all its tasks end: submitit returns with rank 0's
    result, and another task may still be exiting for a moment after it."""
    import time

    deadline = time.monotonic() + timeout_s
    state = job_field(job_id, "JobState")
    while state in ("RUNNING", "COMPLETING") and time.monotonic() < deadline:
        time.sleep(1)
        state = job_field(job_id, "JobState")
    return state


def sweep(tmp_path: Path, *overrides: str) -> tuple[subprocess.CompletedProcess, Path]:
    sweep_dir = tmp_path / "sweep"
    proc = run_cli(
        str(ROOT / "train.py"),
        "-m",
        "hydra/launcher=slurm",
        *overrides,
        f"hydra.sweep.dir={sweep_dir}",
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc, sweep_dir


@pytest.mark.slow
def test_sweep_runs_one_slurm_job_per_sweep_job_and_ends_with_the_leaderboard(
    slurm_cluster, tmp_path
):
    proc, sweep_dir = sweep(tmp_path, *TINY, "model=tiny_bert,tiny_roberta")
    ids = job_ids(sweep_dir)
    assert len(ids) == 2, ids  # one array job, two tasks: <id>_0, <id>_1
    assert {job_field(i, "JobState") for i in ids} == {"COMPLETED"}
    records = [json.loads((sweep_dir / str(n) / "results.json").read_text()) for n in (0, 1)]
    assert [r["status"] for r in records] == ["completed", "completed"]
    assert {r["model"]["name"] for r in records} == {"tiny_bert", "tiny_roberta"}
    assert {r["group"] for r in records} == {sweep_dir.name}  # one W&B group
    assert (sweep_dir / "comparison" / "leaderboard.md").is_file()
    assert "bakeoff leaderboard" in proc.stdout
    # no accounting on this cluster: submitit's sacct polls stay off the console
    assert "sacct" not in proc.stdout + proc.stderr
    assert "accounting storage is disabled" not in proc.stdout + proc.stderr


@pytest.mark.slow
def test_ddp_with_two_slurm_tasks_keeps_replicas_equal_and_writes_one_record(
    slurm_cluster, tmp_path
):
    sums = tmp_path / "sums.json"
    _, sweep_dir = sweep(
        tmp_path,
        *TINY,
        "hydra.launcher.tasks_per_node=2",
        "trainer=ddp_slurm",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "+callbacks.sums._target_=tests.recorders.ReplicaChecksums",
        f"+callbacks.sums.out={sums}",
    )
    (job,) = job_ids(sweep_dir)
    assert job_field(job, "NumTasks") == "2" and final_state(job) == "COMPLETED"
    logs = sorted(p.name for p in (sweep_dir / ".submitit" / job).glob("*_log.err"))
    assert len(logs) == 2, logs  # one process per SLURM task
    rank0 = (sweep_dir / ".submitit" / job / logs[0]).read_text()
    assert "MEMBER: 1/2" in rank0 and "distributed_backend=gloo" in rank0  # SLURMEnvironment

    (epoch,) = json.loads(sums.read_text())
    assert len(epoch["sums"]) == 2 and epoch["sums"][0] == epoch["sums"][1], epoch

    run_dir = sweep_dir / "0"
    record = json.loads((run_dir / "results.json").read_text())
    assert record["status"] == "completed" and record["resources"]["world_size"] == 2
    assert record["metrics"]["val"] and record["metrics"]["test"]
    assert record["history"] and record["monitor"]["best"] is not None
    # both ranks' test shards in the predictions file, each example once
    lines = (run_dir / "test_predictions.csv").read_text().splitlines()[1:]
    index = [int(line.split(",")[0]) for line in lines]
    assert sorted(index) == list(range(record["data"]["n_test"]))
    # one W&B run (rank 0's), and it is the record's
    (wandb_run,) = (run_dir / "wandb").glob("offline-run-*")
    assert wandb_run.name.endswith(record["run_id"])
    assert not list(run_dir.glob(".results.*.tmp"))


def record_status(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "results.json").read_text())["status"]
    except (OSError, ValueError, KeyError):  # not there yet, or being replaced
        return None


@pytest.mark.slow
def test_preempted_slurm_job_is_requeued_and_resumes_from_its_last_checkpoint(
    slurm_cluster, tmp_path
):
    """USR2 (what submitit asks SLURM to send before the time limit, or a pre-emption by hand)
    stops the job at a step boundary with an `interrupted` record; submitit requeues it and the
    requeued job goes on from last.ckpt: same epoch and step counters, freeze state, W&B run."""
    from tests.helpers.interrupts import (
        SLOW_EPOCHS,
        assert_continued,
        interrupted_at_epoch_1,
        wait_for,
    )

    sweep_dir = tmp_path / "sweep"
    run_dir = sweep_dir / "0"
    ckpts = run_dir / "checkpoints"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), "-m", "hydra/launcher=slurm"]
        + [*SLOW_EPOCHS, "hydra.launcher.timeout_min=20", f"hydra.sweep.dir={sweep_dir}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(
            lambda: (ckpts / "epoch00.ckpt").is_file() and (ckpts / "last.ckpt").is_file(), proc
        )
        (job,) = job_ids(sweep_dir)
        subprocess.run(["scancel", "--signal=USR2", job], check=True, timeout=30)
        wait_for(lambda: record_status(run_dir) == "interrupted", proc, timeout=120)
        first, per_epoch, rows_before = interrupted_at_epoch_1(run_dir)
        assert "SIGUSR2" in first["error"]
        out = proc.communicate(timeout=600)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            subprocess.run(["scancel", "--name=train"], timeout=30)
    assert proc.returncode == 0, out[-3000:]
    assert "bakeoff leaderboard" in out
    assert job_field(job, "Restarts") == "1" and job_field(job, "JobState") == "COMPLETED"
    log = next((sweep_dir / ".submitit" / job).glob("*_log.out")).read_text()
    assert "resume: SLURM requeued this job (restart 1)" in log
    assert "SLURM auto-requeueing enabled" not in log  # one mechanism: submitit's
    assert_continued(run_dir, first, per_epoch, rows_before)


def test_unique_examples_keeps_each_test_example_once():
    import torch

    from bakeoff.models.module import unique_examples

    # rank 0 got 0, 2, 4 and rank 1 got 1, 3 and a repeat of 0 (DistributedSampler padding)
    shards = [
        {
            "index": torch.tensor([0, 2, 4]),
            "output": torch.tensor([10, 12, 14]),
            "w": ["a", "c", "e"],
        },
        {
            "index": torch.tensor([1, 3, 0]),
            "output": torch.tensor([11, 13, 10]),
            "w": ["b", "d", "a"],
        },
    ]
    out = unique_examples(shards)
    assert torch.cat([b["index"] for b in out]).tolist() == [0, 2, 4, 1, 3]
    assert torch.cat([b["output"] for b in out]).tolist() == [10, 12, 14, 11, 13]
    assert [w for b in out for w in b["w"]] == ["a", "c", "e", "b", "d"]
