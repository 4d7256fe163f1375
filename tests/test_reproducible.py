"""Same seed -> same numbers; resume from a checkpoint continues the schedule where it stopped."""

from __future__ import annotations

from bakeoff.train import run


def metrics_of(tiny_cfg, tmp_path, name, *overrides):
    cfg = tiny_cfg(
        "logger=csv", "trainer.max_epochs=1", f"paths.output_dir={tmp_path / name}", *overrides
    )
    record = run(cfg)
    return record["metrics"]


def test_same_seed_twice_gives_identical_metrics(tiny_cfg, tmp_path):
    first = metrics_of(tiny_cfg, tmp_path, "a", "seed=7")
    second = metrics_of(tiny_cfg, tmp_path, "b", "seed=7")
    assert first == second and first["test"] and first["val"]
    other = metrics_of(tiny_cfg, tmp_path, "c", "seed=8")
    assert other["val"]["loss"] != first["val"]["loss"]  # the seed does reach the run


def test_resume_restores_epoch_history_and_freeze_state(tiny_cfg, tmp_path):
    strategy = [
        "finetune=freeze_unfreeze",
        "finetune.unfreeze_at_epoch=1",
        "callbacks.early_stopping=null",
    ]
    first = run(
        tiny_cfg(
            "logger=csv", "trainer.max_epochs=1", f"paths.output_dir={tmp_path / 'a'}", *strategy
        )
    )
    last = tmp_path / "a" / "checkpoints" / "last.ckpt"
    assert last.is_file()
    resumed = run(
        tiny_cfg(
            "logger=csv",
            "trainer.max_epochs=2",
            f"ckpt_path={last}",
            f"paths.output_dir={tmp_path / 'b'}",
            *strategy,
        )
    )
    assert [h["epoch"] for h in resumed["history"]] == [0, 1]  # epoch 0 came from the checkpoint
    assert resumed["history"][0] == first["history"][0]
    trainable = resumed["finetune"]["trainable_history"]
    assert trainable[-1]["epoch"] == 1 and trainable[-1]["trainable"] == trainable[-1]["total"]
