"""No completed run with non-finite outputs, whatever the loss guard's patience (issue 24, item 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_every_loss_nan_with_a_large_patience_is_failed_not_completed(tiny_cfg):
    from bakeoff.errors import BakeoffError
    from bakeoff.runs.train import run

    cfg = tiny_cfg(
        "optim.lr=1e30",
        "optim.head_lr=1e30",
        "logger=csv",
        "trainer.max_epochs=1",
        "callbacks.nonfinite_loss.patience=100",  # more steps than the run has: never stops it
    )
    with pytest.raises(BakeoffError, match=r"val metrics .*val/loss.* not finite"):
        run(cfg)
    record = json.loads((Path(cfg.paths.output_dir) / "results.json").read_text())
    assert record["status"] == "failed"
    assert record["error"].startswith("NonFiniteOutputsError: val metrics")
    assert "patience only skips training steps" in record["error"]


def test_non_finite_test_outputs_are_named():
    import torch

    from bakeoff.callbacks.nonfinite import NonFiniteOutputsError, check_finite

    check_finite("test", {"acc": 0.5}, [{"output": torch.ones(2, 2)}])
    with pytest.raises(NonFiniteOutputsError, match=r"test outputs of 1 batch\(es\)"):
        check_finite("test", {"acc": 0.6875}, [{"output": torch.full((2, 2), float("nan"))}])
