"""scripts/keep_records.sh: a sweep's records, without checkpoints or W&B runs, for committing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "keep_records.sh"


def make_sweep(sweep: Path) -> None:
    files = {
        "multirun.yaml": "hydra: {}",
        "halving.json": "{}",
        "0/results.json": '{"status": "completed"}',
        "0/test_predictions.csv": "index,pred\n0,1\n",
        "0/checkpoints/last.ckpt": "weights",
        "0/wandb/offline-run-x/run.wandb": "w",
        "0/train.log": "log",
        "1/results.json": '{"status": "failed"}',
        "comparison/leaderboard.md": "| a |",
        "comparison/report.html": "<html>",
        "comparison_fashion_mnist/leaderboard.csv": "a\n",
        "wandb/offline-run-y/run.wandb": "w",
        "notes/mine.txt": "not a job",
    }
    for name, text in files.items():
        (sweep / name).parent.mkdir(parents=True, exist_ok=True)
        (sweep / name).write_text(text)


def kept(dest: Path) -> set[str]:
    return {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()}


def test_records_and_comparisons_are_kept_checkpoints_and_wandb_are_not(tmp_path):
    make_sweep(tmp_path / "sweep")
    proc = subprocess.run(  # relative paths, as typed in a shell
        ["bash", str(SCRIPT), "sweep", "kept"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert kept(tmp_path / "kept") == {
        "multirun.yaml",
        "halving.json",
        "0/results.json",
        "0/test_predictions.csv",
        "1/results.json",
        "comparison/leaderboard.md",
        "comparison/report.html",
        "comparison_fashion_mnist/leaderboard.csv",
    }
    assert "kept 2 job records and 2 comparison folder(s)" in proc.stdout


def test_an_existing_destination_is_refused_and_left_as_it_was(tmp_path):
    make_sweep(tmp_path / "sweep")
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "mine.md").write_text("mine")
    proc = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "sweep"), str(tmp_path / "kept")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: DEST_DIR:") and "exists" in proc.stderr
    assert kept(tmp_path / "kept") == {"mine.md"}
