"""Interrupted runs: a signal stops at a step boundary and records `interrupted`; `resume=true`
skips completed jobs and continues the others from `last.ckpt` (issue 10)."""

from __future__ import annotations

import csv
import json
import os
import signal
from pathlib import Path

import lightning as L
import pytest

from tests.helpers.interrupts import (
    SLOW_EPOCHS,
    assert_continued,
    interrupted_at_epoch_1,
    start,
    wait_for,
)
from tests.helpers.runs import TINY, compose


def test_resume_key_is_in_the_schema(tmp_path):
    cfg = compose(tmp_path, "resume=true", "name=x")
    assert cfg.resume is True and cfg.name == "x"


@pytest.mark.slow
def test_sigterm_records_interrupted_and_resume_continues(tmp_path):
    run_dir = tmp_path / "logs" / "runs" / "sig"
    ckpts = run_dir / "checkpoints"
    proc = start(tmp_path, "name=sig", *SLOW_EPOCHS)
    wait_for(lambda: (ckpts / "epoch00.ckpt").is_file() and (ckpts / "last.ckpt").is_file(), proc)
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 128 + signal.SIGTERM, out

    first, per_epoch, rows_before = interrupted_at_epoch_1(run_dir)
    assert "SIGTERM" in first["error"]

    proc = start(tmp_path, "name=sig", "resume=true", *SLOW_EPOCHS)
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out
    assert_continued(run_dir, first, per_epoch, rows_before)


SWEEP = [
    "-m",
    *[o for o in TINY if not o.startswith("trainer.max_epochs")],
    "name=sw",
    "seed=1,2,3,4",
    "trainer.max_epochs=1",
    "data.max_length=32",
    "logger=csv",
]


def completed_jobs(sweep: Path) -> list[str]:
    done = []
    for path in sorted(sweep.glob("*/results.json")):
        try:
            if json.loads(path.read_text())["status"] == "completed":
                done.append(path.parent.name)
        except ValueError:  # being written
            pass
    return done


def stamps(sweep: Path) -> dict[str, int]:
    """mtime of every job's checkpoints and record: a job that trains again changes them."""
    files = [*sweep.glob("*/checkpoints/*.ckpt"), *sweep.glob("*/results.json")]
    return {str(p.relative_to(sweep)): p.stat().st_mtime_ns for p in files}


def leaderboard_jobs(sweep: Path) -> int:
    """How many runs the leaderboard covers (its rows are configurations, seeds aggregated)."""
    with open(sweep / "comparison" / "leaderboard.csv") as f:
        return sum(int(row["n"]) for row in csv.DictReader(f))


@pytest.mark.slow
def test_killed_sweep_resumes_only_the_missing_jobs(tmp_path):
    sweep = tmp_path / "logs" / "multiruns" / "sw"
    proc = start(tmp_path, *SWEEP)
    wait_for(lambda: len(completed_jobs(sweep)) >= 2, proc)
    proc.kill()  # SIGKILL: no handler runs, no leaderboard
    proc.communicate(timeout=60)
    finished = completed_jobs(sweep)
    assert finished == ["0", "1"] and not (sweep / "comparison").exists()
    before = stamps(sweep)

    proc = start(tmp_path, *SWEEP, "resume=true")
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out
    assert completed_jobs(sweep) == ["0", "1", "2", "3"]
    after = stamps(sweep)
    # Jobs 0 and 1 were not trained again; 2 and 3 were (their records and checkpoints are new).
    assert {k: v for k, v in after.items() if k.split("/")[0] in finished} == before
    trained = {k.split("/")[0] for k, v in after.items() if before.get(k) != v}
    assert trained == {"2", "3"}
    assert leaderboard_jobs(sweep) == 4

    # A finished sweep re-run with resume=true trains nothing and still ends with the leaderboard.
    (sweep / "comparison" / "leaderboard.csv").unlink()
    proc = start(tmp_path, *SWEEP, "resume=true")
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out
    assert stamps(sweep) == after
    assert leaderboard_jobs(sweep) == 4


class SendSignal(L.Callback):
    """Sends `signum` to this process after train step `at_step` (a test's stand-in for SLURM)."""

    def __init__(self, signum: int, at_step: int) -> None:
        self.signum, self.at_step = signum, at_step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.at_step:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("signum", [signal.SIGUSR1, signal.SIGINT])
def test_signal_stops_at_a_step_and_records_interrupted(signum, tiny_cfg, tmp_path):
    from bakeoff.errors import RunInterrupted
    from bakeoff.record.store import read_record
    from bakeoff.runs.train import run

    handlers = {s: signal.getsignal(s) for s in (signal.SIGUSR1, signal.SIGINT, signal.SIGTERM)}
    cfg = tiny_cfg(
        "logger=csv",
        "trainer.max_epochs=3",
        f"+callbacks.send._target_={__name__}.SendSignal",
        f"+callbacks.send.signum={int(signum)}",
        "+callbacks.send.at_step=5",  # 4 steps an epoch: inside epoch 1
    )
    with pytest.raises(RunInterrupted) as err:
        run(cfg)
    assert err.value.exit_code == 128 + signum
    record = read_record(tmp_path / "run")
    assert record["status"] == "interrupted"
    assert signal.Signals(signum).name in record["error"]
    assert [h["epoch"] for h in record["history"]] == [0]
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    # The handlers are put back once fit ends.
    assert {s: signal.getsignal(s) for s in handlers} == handlers
