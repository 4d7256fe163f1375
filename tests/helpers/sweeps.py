"""Sweeps through the real CLI (`python train.py -m ...`) and what they leave behind."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.helpers.runs import ROOT, run_cli

CHEAP = [
    "data.limit_val=32",
    "data.limit_test=32",
    "data.max_length=32",
    "logger=wandb",
    "trainer.enable_progress_bar=false",
    "callbacks.progress_bar=null",
]


def multirun(tmp: Path, *overrides: str):
    """`python train.py -m <overrides>` in `tmp` (so logs/ lands there); the one sweep dir."""
    proc = run_cli(str(ROOT / "train.py"), "-m", *overrides, cwd=tmp)
    sweeps = list((tmp / "logs" / "multiruns").iterdir())
    assert len(sweeps) == 1, proc.stdout + proc.stderr
    return proc, sweeps[0]


def records(sweep: Path) -> dict[str, dict]:
    """results.json of every job, by job number."""
    return {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/results.json")}


def leaderboard(sweep: Path) -> dict[str, dict]:
    with open(sweep / "comparison" / "leaderboard.csv") as f:
        return {row["config"]: row for row in csv.DictReader(f)}
