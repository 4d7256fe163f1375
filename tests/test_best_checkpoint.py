"""The test split is scored with the best checkpoint (by the monitored metric), not the final weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakeoff.evaluate import evaluate
from bakeoff.train import run
from tests.conftest import compose


def checkpoint_test_metrics(tmp_path: Path, ckpt: str) -> dict:
    cfg = compose(
        tmp_path,
        f"ckpt_path={ckpt}",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        f"paths.output_dir={tmp_path / Path(ckpt).stem}",
        config_name="eval",
    )
    return evaluate(cfg)["metrics"]["test"]


def test_test_metrics_are_the_best_epochs_when_the_last_is_worse(tiny_cfg, tmp_path):
    record = run(
        tiny_cfg(
            "logger=csv",
            "monitor.metric=val/loss",
            "monitor.mode=min",
            "callbacks.early_stopping=null",
            "+callbacks.spoil._target_=tests.recorders.SpoilHead",
            "+callbacks.spoil.at_epoch=1",
            "+callbacks.final._target_=tests.recorders.SaveFinal",
            f"+callbacks.final.out={tmp_path / 'final.ckpt'}",
            f"paths.output_dir={tmp_path / 'run'}",
        )
    )
    losses = [h["val/loss"] for h in record["history"]]
    assert len(losses) == 2 and losses[1] > 2 * losses[0]  # epoch 1 is far worse
    assert record["monitor"]["best_epoch"] == 0
    best = record["paths"]["best_ckpt"]
    assert Path(best).name == "epoch00.ckpt"
    assert record["metrics"]["val"]["loss"] == pytest.approx(losses[0])
    # (not last.ckpt, which holds the latest epoch: bakeoff.utils.last_checkpoint)
    of_best = checkpoint_test_metrics(tmp_path, best)
    of_final = checkpoint_test_metrics(tmp_path, str(tmp_path / "final.ckpt"))
    assert of_best["loss"] != pytest.approx(of_final["loss"], rel=0.1)  # the two are told apart
    assert record["metrics"]["test"] == pytest.approx(of_best)
