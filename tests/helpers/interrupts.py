"""Runs interrupted in epoch 1 and continued: the slow-epoch overrides, a train.py process to
signal, and what the interrupted and the continued run must show."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.runs import ROOT, TINY
from tests.helpers.wandb_files import offline_runs

# Long enough epochs (~100 steps) that a signal sent once epoch 0 is validated lands in epoch 1.
SLOW_EPOCHS = [
    *[o for o in TINY if not o.startswith(("data.limit_train", "trainer.max_epochs"))],
    "data.limit_train=1600",
    "data.max_length=64",
    "trainer.max_epochs=2",
    "callbacks.early_stopping=null",
    "finetune=freeze_unfreeze",
    "finetune.unfreeze_at_epoch=1",
    "logger=[csv,wandb]",
]


def start(cwd: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(predicate, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"process ended first ({proc.returncode}):\n{proc.stdout.read()}")
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def ckpt_counters(path: Path) -> tuple[int, int, dict[str, int]]:
    """(epoch, global step, AdamW step per parameter kind) of a checkpoint."""
    import torch

    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    steps = {}
    for opt in ckpt["optimizer_states"]:
        for state in opt["state"].values():
            steps[int(state["step"])] = steps.get(int(state["step"]), 0) + 1
    return ckpt["epoch"], ckpt["global_step"], steps


def interrupted_at_epoch_1(run_dir: Path) -> tuple[dict, int, list[dict]]:
    """The interrupted record, steps per epoch and CSV rows of a SLOW_EPOCHS run stopped in
    epoch 1 (after epoch 0 was validated)."""
    record = json.loads((run_dir / "results.json").read_text())
    assert record["status"] == "interrupted", record["error"]
    assert [h["epoch"] for h in record["history"]] == [0]
    assert record["paths"]["best_ckpt"].endswith("epoch00.ckpt")
    epoch, step, _ = ckpt_counters(run_dir / "checkpoints" / "last.ckpt")
    assert epoch == 0 and step > 0
    with open(run_dir / "csv" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows
    return record, step, rows


def assert_continued(run_dir: Path, first: dict, per_epoch: int, rows_before: list[dict]) -> None:
    """A SLOW_EPOCHS run interrupted in epoch 1 went on from its last.ckpt to the end."""
    ckpts = run_dir / "checkpoints"
    done = json.loads((run_dir / "results.json").read_text())
    assert done["status"] == "completed", done["error"]
    assert [h["epoch"] for h in done["history"]] == [0, 1]
    assert done["history"][0] == first["history"][0]  # epoch 0 came from the checkpoint
    epoch, step, adam_steps = ckpt_counters(ckpts / "last.ckpt")
    # Both counters go on from the checkpoint: last.ckpt is written after epoch 1's validation.
    assert (epoch, step) == (1, 2 * per_epoch)
    # The head trained every step; the backbone only from epoch 1 (frozen state restored).
    assert set(adam_steps) == {2 * per_epoch, per_epoch}
    trainable = done["finetune"]["trainable_history"]
    assert trainable[-1]["trainable"] == trainable[-1]["total"]

    with open(run_dir / "csv" / "metrics.csv") as f:
        rows_after = list(csv.DictReader(f))
    assert len(rows_after) > len(rows_before)
    for before, after in zip(rows_before, rows_after, strict=False):
        assert {k: v for k, v in after.items() if k in before} == before  # earlier rows kept

    runs = offline_runs(run_dir)
    assert len(runs) == 2 and runs[0].run_id == runs[1].run_id == done["run_id"]
    assert first["run_id"] == done["run_id"]
    assert runs[0].display_name == runs[1].display_name == first["name"] == done["name"]
