"""One writer per run dir (issue 24, item 2), with real concurrent processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ONE_SMALL_EPOCH, ROOT

HOLD = """
import sys, time
from bakeoff.utils.run_lock import acquire
acquire(sys.argv[1])
print("held", flush=True)
time.sleep(600)
"""


def hold(directory: Path) -> subprocess.Popen:
    """Another process that locks `directory` and keeps it until killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(directory)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_writer_fails_at_once_and_a_stale_lock_is_taken_over(tmp_path, caplog):
    from bakeoff.utils.run_lock import RunDirBusy, locked

    run_dir = tmp_path / "runs" / "twin"
    holder = hold(run_dir)
    try:
        with pytest.raises(RunDirBusy) as err, locked(run_dir):
            pass
        message = str(err.value)
        assert str(run_dir) in message and f"pid {holder.pid} on {socket.gethostname()}" in message
        assert "name=" in message
    finally:
        holder.send_signal(signal.SIGKILL)  # killed: its pid stays written in the lock file
        holder.wait()
    with caplog.at_level("WARNING"), locked(run_dir):
        pid_line = (run_dir / ".bakeoff.lock").read_text()
        assert f"pid={os.getpid()}" in pid_line
    assert f"taking over the lock of pid {holder.pid}" in caplog.text
    assert "that process is gone" in caplog.text
    # released cleanly: the next writer takes it without a warning
    caplog.clear()
    with caplog.at_level("WARNING"), locked(run_dir), locked(run_dir):  # re-entrant
        pass
    assert "taking over" not in caplog.text


def start(cwd: Path, *args: str, log: Path | None = None) -> subprocess.Popen:
    """train.py in `cwd`; its output to `log` (a pipe nobody reads would block it) or pipes."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    out = log.open("w") if log is not None else subprocess.PIPE
    return subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *args],
        cwd=cwd,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT if log is not None else subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_sweeps_and_two_runs_of_one_name_the_second_fails_before_writing(tmp_path):
    small = [o for o in ONE_SMALL_EPOCH if not o.startswith("data.limit_train")]
    slow = ["model=tiny_bert", "logger=csv", "trainer.enable_progress_bar=false", *small]
    slow += ["data.limit_train=3000"]  # long enough that the second process meets the first
    sweep_dir = tmp_path / "logs" / "multiruns" / "twin"
    run_dir = tmp_path / "logs" / "runs" / "twin"
    first_sweep = start(tmp_path, "-m", "name=twin", "seed=1,2", *slow, log=tmp_path / "sweep.log")
    first_run = start(tmp_path, "name=twin", *slow, log=tmp_path / "run.log")
    try:
        deadline = time.monotonic() + 300
        started = (sweep_dir / "multirun.yaml", run_dir / ".hydra" / "overrides.yaml")
        while not all(p.is_file() for p in started):
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()[-3000:]
            assert first_sweep.poll() is None and first_run.poll() is None
            time.sleep(0.2)
        second_sweep = start(tmp_path, "-m", "name=twin", "seed=3,4", *slow)
        second_run = start(tmp_path, "name=twin", *slow)
        for proc, directory, first in (
            (second_sweep, sweep_dir, first_sweep),
            (second_run, run_dir, first_run),
        ):
            out, err = proc.communicate(timeout=120)
            assert first.poll() is None, "the first process ended before the second met it"
            assert proc.returncode == 1, out + err
            last = err.strip().splitlines()[-1]
            assert last.startswith(f"error: {directory} is being written by pid {first.pid}"), err
        # The second sweep launched nothing: no job of seeds 3, 4 anywhere.
        overrides = [p.read_text() for p in sweep_dir.rglob(".hydra/overrides.yaml")]
        assert not any("seed=3" in o or "seed=4" in o for o in overrides)
        # The first run's Hydra files are its own.
        assert "seed=3" not in (run_dir / ".hydra" / "overrides.yaml").read_text()
    finally:
        for proc in (first_sweep, first_run):
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
