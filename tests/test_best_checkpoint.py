"""The test split is scored with the best checkpoint (by the monitored metric), not the final
weights; last.ckpt is the final weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakeoff.runs.evaluate import evaluate
from bakeoff.runs.train import run
from tests.helpers.runs import compose


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
    # (not last.ckpt, which holds the latest epoch: bakeoff.callbacks.last_checkpoint)
    of_best = checkpoint_test_metrics(tmp_path, best)
    of_final = checkpoint_test_metrics(tmp_path, str(tmp_path / "final.ckpt"))
    assert of_best["loss"] != pytest.approx(of_final["loss"], rel=0.1)  # the two are told apart
    assert record["metrics"]["test"] == pytest.approx(of_best)

    # last.ckpt, which resume=true continues from, is the latest epoch, not the best one:
    # Lightning 2.6 alone would leave it at epoch 0 (bakeoff.callbacks.last_checkpoint).
    import torch

    ckpts = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in ckpts.glob("*.ckpt")) == ["epoch00.ckpt", "last.ckpt"]
    first = torch.load(ckpts / "epoch00.ckpt", map_location="cpu", weights_only=True)
    last = torch.load(ckpts / "last.ckpt", map_location="cpu", weights_only=True)
    assert (first["epoch"], last["epoch"]) == (0, 1)
    assert last["global_step"] == 2 * first["global_step"]
    final = torch.load(tmp_path / "final.ckpt", map_location="cpu", weights_only=True)
    for key, value in final["state_dict"].items():
        assert torch.equal(last["state_dict"][key], value), key
