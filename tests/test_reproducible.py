"""Same seed -> same numbers; resume from a checkpoint continues the schedule where it stopped."""

from __future__ import annotations

from bakeoff.runs.train import run


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


# Recorded at commit 5644d22, before issue 5's speed work (length-sorted eval batches, grouped
# batches, fused AdamW, the token cache, parallel tokenizing), by `python train.py` with the
# overrides below, and pinned again on 2026-12-06 when exact resume (issue 22) made the training
# order a function of the seed and the epoch only (epoch 0 unchanged; later epochs reshuffled,
# and a loader's iterator no longer draws from the global generator that dropout uses). Before
# that change: val acc 0.71875 / f1 0.681063175201416 / loss 0.582552969455719, test acc
# 0.6015625 / f1 0.5882686972618103 / loss 0.6303445100784302. CPU float kernels are
# deterministic on one machine type; on another, the losses may move in the last digits and this
# test says by how much.
BEFORE_ISSUE_5 = {
    "val": {"acc": 0.71875, "f1_macro": 0.6883116960525513, "loss": 0.5487423539161682},
    "test": {"acc": 0.65625, "f1_macro": 0.6301549673080444, "loss": 0.6044875979423523},
}


def test_metrics_unchanged_by_the_speed_work_with_group_by_length_off(tiny_cfg, tmp_path):
    import pytest

    cfg = tiny_cfg(
        "seed=7",
        "logger=csv",
        "data.limit_train=512",
        "data.limit_val=64",
        "data.limit_test=128",
        "data.batch_size=32",
        "data.max_length=128",
        "data.group_by_length=false",
        "trainer.max_epochs=3",
        "optim.lr=2e-3",
        "optim.head_lr=2e-3",
    )
    metrics = run(cfg)["metrics"]
    assert metrics["val"]["f1_macro"] > 0.6  # a model that learned: the comparison means something
    for split, expected in BEFORE_ISSUE_5.items():
        for key, value in expected.items():
            assert metrics[split][key] == pytest.approx(value, rel=1e-6, abs=1e-7), (split, key)
