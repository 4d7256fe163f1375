"""What a run prints is short and true: a tiny run's console, one W&B line per job, no W&B panel
after a leaderboard, checks before any logger starts, a dry run that writes nothing."""

from __future__ import annotations

import pytest

from bakeoff.results import compare
from tests.helpers.runs import ROOT, run_cli

TINY_RUN = [
    "model=tiny_bert",
    "trainer.max_epochs=1",
    "data.limit_train=64",
    "data.limit_val=32",
    "data.limit_test=32",
    "logger=wandb",
]
# The lines of a tiny run today: Lightning's own INFO lines (seed, devices, fit end, checkpoint
# restore), the freeze line, a progress bar and test table, bakeoff's summary, one W&B line.
MAX_LINES = 40


@pytest.mark.slow
def test_a_tiny_run_prints_few_lines_and_one_wandb_line(tmp_path):
    proc = run_cli(str(ROOT / "train.py"), *TINY_RUN, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    text = "\n".join(lines)
    assert len(lines) <= MAX_LINES, text
    wandb_lines = [line for line in lines if "wandb:" in line]
    assert len(wandb_lines) == 1 and "offline" in wandb_lines[0], text
    assert "log_every_n_steps" not in text  # set from the epoch's size (2 batches here)
    assert "Loading weights" not in text


def train_in(run_dir, *overrides: str):
    """train.py with `overrides`, its run dir `run_dir` (which the test then inspects)."""
    args = ("model=tiny_bert", *overrides, f"hydra.run.dir={run_dir}")
    return run_cli(str(ROOT / "train.py"), *args, cwd=run_dir.parent)


def test_a_missing_data_file_fails_before_any_logger_starts(tmp_path):
    run_dir = tmp_path / "run"
    missing = [f"data.source.{split}={tmp_path / 'none.csv'}" for split in ("train", "test")]
    proc = train_in(run_dir, "data=csv", *missing, "logger=wandb")
    assert proc.returncode == 1
    assert f"data.source.train: file not found: {tmp_path / 'none.csv'}" in proc.stderr
    assert "wandb" not in proc.stdout + proc.stderr
    assert not (run_dir / "wandb").exists()


def test_a_dry_run_writes_nothing(tmp_path):
    run_dir = tmp_path / "dry"
    proc = train_in(run_dir, "dry_run=true")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "params" in proc.stdout
    assert not run_dir.exists()  # no train.log, no .hydra/
    assert "SpearmanCorrcoef" not in proc.stderr


def test_no_wandb_panel_after_the_leaderboard(sweep, capfd, tmp_path):
    from bakeoff.results.wandb_report import log_comparison

    c = compare(sweep, formats=None, plots=False)
    capfd.readouterr()
    run_id = log_comparison(c, tmp_path, {"mode": "offline", "project": "bakeoff"})
    assert run_id
    out, err = capfd.readouterr()
    assert "wandb" not in out + err, out + err


def test_loading_pretrained_weights_prints_no_bar(capfd):
    from bakeoff.models.hf_backbone import HFBackbone

    capfd.readouterr()
    HFBackbone("sentence-transformers/all-MiniLM-L6-v2")
    out, err = capfd.readouterr()
    assert "Loading weights" not in out + err


def test_a_truncated_backbone_says_so_in_one_line_not_a_load_report(capfd, caplog):
    """minilm_l2 keeps the checkpoint's first 2 layers: transformers' table of 64 'UNEXPECTED'
    weights is noise there; one info line names the unused layers."""
    from bakeoff.models.hf_backbone import HFBackbone

    capfd.readouterr()
    with caplog.at_level("INFO", logger="bakeoff.models.hf_backbone"):
        HFBackbone(
            "sentence-transformers/all-MiniLM-L6-v2", config_overrides={"num_hidden_layers": 2}
        )
    out, err = capfd.readouterr()
    assert "LOAD REPORT" not in out + err and "UNEXPECTED" not in out + err, out + err
    assert [r.getMessage() for r in caplog.records] == [
        "sentence-transformers/all-MiniLM-L6-v2: its first 2 layers loaded; the checkpoint's "
        "layers 2..5 are not used"
    ]
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_weights_the_checkpoint_lacks_are_a_warning(caplog):
    from bakeoff.models.hf_backbone import report_loading

    with caplog.at_level("INFO", logger="bakeoff.models.hf_backbone"):
        report_loading("m", {"missing_keys": ["classifier.weight"], "unexpected_keys": []}, None)
        report_loading("m", {"missing_keys": [], "unexpected_keys": ["lm_head.bias"]}, None)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "m: 1 weights not in the checkpoint or of another shape start from random "
         "init: classifier.weight"),
        ("WARNING", "m: 1 checkpoint weights not used: lm_head.bias"),
    ]  # fmt: skip
