"""The configs and command-line runs the tests share: in-process compose, tiny and one-small-epoch
overrides, `python train.py ...` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


CONF = ROOT / "conf"


# The small test runs: tiny models, a few batches.
TINY = [
    "model=tiny_bert",
    "data.limit_train=64",
    "data.limit_val=32",
    "data.limit_test=48",
    "data.batch_size=16",
    "trainer.max_epochs=2",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "callbacks.progress_bar=null",
]


# The command-line runs' (sweeps, searches, SLURM jobs) share of that: one epoch on small
# splits of the default data, short sequences, no progress bar.
ONE_SMALL_EPOCH = (
    "trainer.max_epochs=1",
    "data.limit_train=64",
    "data.limit_val=32",
    "data.limit_test=32",
    "data.max_length=32",
    "callbacks.progress_bar=null",
)


def compose(tmp_path: Path, *overrides: str, config_name: str = "train"):
    """The config `python train.py <overrides>` would get, run dir under tmp_path."""
    from bakeoff.app.compose import compose as compose_config

    return compose_config(
        overrides, config_name=config_name, root_dir=tmp_path, output_dir=tmp_path / "run"
    )


def run_cli(*args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
