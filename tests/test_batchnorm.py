"""A frozen backbone's BatchNorm running statistics stay bit-identical through training."""

from __future__ import annotations

import pytest
import torch

from bakeoff.runs.train import run

VISION = [
    "model=mobilenetv2",
    "data=fashion_mnist",
    "data.image_size=64",
    "data.limit_train=64",
    "data.limit_val=32",
    "data.limit_test=32",
    "data.batch_size=16",
    "trainer.max_epochs=1",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "callbacks.progress_bar=null",
    "logger=csv",
]


def bn_stats_after(tmp_path, strategy, *overrides):
    from tests.helpers.runs import compose

    out = tmp_path / f"{strategy}.pt"
    cfg = compose(
        tmp_path,
        *VISION,
        f"finetune={strategy}",
        *overrides,
        "+callbacks.bn._target_=tests.recorders.BatchNormStats",
        f"+callbacks.bn.out={out}",
        f"paths.output_dir={tmp_path / strategy}",
    )
    record = run(cfg)
    return torch.load(out, weights_only=True), record


@pytest.mark.parametrize("strategy", ["linear_probe", "full"])
def test_batchnorm_running_stats(tmp_path, strategy):
    stats, record = bn_stats_after(tmp_path, strategy)
    before, after = stats["before"], stats["after"]
    assert len(before) == 3 * 52  # mobilenetv2_100: 52 BatchNorm layers, 3 buffers each
    same = [k for k in before if torch.equal(before[k], after[k])]
    if strategy == "linear_probe":
        assert same == list(before)  # bit-identical: frozen BN stayed in eval mode
        assert record["model"]["params_trainable"] == 1280 * 10 + 10
    else:
        assert not same  # control: full fine-tuning does update them, so the check can fail


@pytest.mark.parametrize("train_bn", [False, True])
def test_linear_probe_with_train_bn_adapts_batchnorm_and_caches_no_features(tmp_path, train_bn):
    """finetune.train_bn=true under a probe: the frozen backbone's BatchNorm layers still learn
    their statistics (weights frozen, the head alone trains), so the features change every step
    and are not cached. Augmentation off: without train_bn the features are cached."""
    stats, record = bn_stats_after(
        tmp_path, "linear_probe", "data.augment=false", f"finetune.train_bn={str(train_bn).lower()}"
    )
    before, after = stats["before"], stats["after"]
    means = [k for k in before if k.endswith("running_mean")]
    moved = [k for k in means if not torch.equal(before[k], after[k])]
    assert record["model"]["params_trainable"] == 1280 * 10 + 10  # the head only, either way
    if train_bn:
        assert len(moved) == len(means) == 52  # every BatchNorm layer adapted its statistics
        assert stats["features"] is None  # trained on the backbone's output, step by step
    else:
        assert moved == [] and stats["features"] == "computed"


@pytest.mark.parametrize("train_bn", [False, True])
def test_train_bn_keeps_frozen_batchnorm_training(tmp_path, train_bn):
    """freeze_unfreeze, backbone frozen in epoch 0 and trained from epoch 1: with train_bn=true
    the frozen BatchNorm layers still train (running statistics move; weights stay frozen)."""
    import json

    from tests.helpers.runs import compose

    out = tmp_path / "bn.json"
    run(
        compose(
            tmp_path,
            *VISION,
            "trainer.max_epochs=2",
            "finetune=freeze_unfreeze",
            "finetune.unfreeze_at_epoch=1",
            f"finetune.train_bn={str(train_bn).lower()}",
            "callbacks.early_stopping=null",
            "+callbacks.bn._target_=tests.recorders.BatchNormEpochs",
            f"+callbacks.bn.out={out}",
            f"paths.output_dir={tmp_path / 'run'}",
        )
    )
    frozen, unfrozen = json.loads(out.read_text())
    assert frozen["trainable_params"] == 0 and unfrozen["trainable_params"] == 2 * 52
    assert unfrozen["training"] == unfrozen["stats_changed"] == 52
    if train_bn:
        assert frozen["training"] == frozen["stats_changed"] == 52
    else:
        assert frozen["training"] == frozen["stats_changed"] == 0
