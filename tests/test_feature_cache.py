"""Linear probes on cached features: same gradients, same training, computed once per split."""

from __future__ import annotations

import contextlib

import lightning as L
import pytest
import torch

from bakeoff.models.feature_cache import (
    FeatureDataset,
    compute_features,
    frozen_for_run,
    inputs_digest,
    split_targets,
    weights_digest,
    why_not_cached,
)
from bakeoff.models.finetune import FreezeSchedule, FreezeUnfreeze, Full, Gradual, LinearProbe
from bakeoff.runs.assembly import build_run_parts

PROBE = ["finetune=linear_probe", "model.head_dropout=0.0", "logger=csv"]


def probe_parts(cfg):
    """Set-up DataModule and module of a config, as train.py builds them."""
    L.seed_everything(cfg.seed)
    parts = build_run_parts(cfg)
    return parts.datamodule, parts.module


def head_grads(module, batch) -> dict[str, torch.Tensor]:
    module.zero_grad(set_to_none=True)
    module.task.loss(module(batch), batch["labels"]).backward()
    return {n: p.grad.clone() for n, p in module.head.named_parameters()}


def test_frozen_for_run_follows_the_schedule_within_the_epochs():
    assert frozen_for_run(LinearProbe("linear_probe"), 3, max_epochs=10)
    assert frozen_for_run(LinearProbe("linear_probe"), 3, max_epochs=-1)
    assert not frozen_for_run(Full("full"), 3, max_epochs=10)
    late = FreezeUnfreeze("freeze_unfreeze", unfreeze_at_epoch=5)
    assert frozen_for_run(late, 3, max_epochs=5)  # epochs 0..4: never unfrozen
    assert not frozen_for_run(late, 3, max_epochs=6)
    assert not frozen_for_run(late, 3, max_epochs=-1)
    assert not frozen_for_run(Gradual("gradual", milestones=[2]), 3, max_epochs=3)


def test_cached_features_give_the_head_the_same_gradients(tiny_cfg):
    dm, module = probe_parts(tiny_cfg(*PROBE))
    module.backbone_frozen = True
    module.train()
    assert not module.backbone.training and module.head.training
    for p in module.backbone.parameters():
        p.requires_grad_(False)

    n = len(dm.datasets["train"])
    features = compute_features(module, dm.eval_loader("train"), n, contextlib.nullcontext)
    assert features.shape == (n, module.backbone.feature_dim) and not features.requires_grad
    cached = FeatureDataset(features, split_targets(dm.datasets["train"]), module.task)

    # A training batch of the inputs (padded to its own longest example) against the same
    # examples' cached features, computed in other batches with other padding.
    batch = next(iter(dm.train_dataloader()))
    uncached = head_grads(module, batch)
    fed = cached.collate([cached[i] for i in batch["index"].tolist()])
    assert torch.equal(fed["labels"], batch["labels"])
    with_cache = head_grads(module, fed)
    assert set(uncached) == {"proj.weight", "proj.bias"}
    for name, grad in uncached.items():
        assert grad.abs().sum() > 0
        torch.testing.assert_close(with_cache[name], grad, rtol=1e-4, atol=1e-6)
    assert all(p.grad is None for p in module.backbone.parameters())


def fit(cfg, tmp_path, name: str):
    """Fit and test as train.py does; `module.backbone_calls` counts the backbone's forwards."""
    dm, module = probe_parts(cfg)
    module.backbone_calls = 0

    def count(*_) -> None:
        module.backbone_calls += 1

    module.backbone.register_forward_hook(count)
    trainer = L.Trainer(
        max_epochs=cfg.trainer.max_epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[FreezeSchedule()],
        default_root_dir=tmp_path / name,
    )
    trainer.fit(module, datamodule=dm)
    trainer.test(module, datamodule=dm, verbose=False)
    return module, dm, trainer.callback_metrics


@pytest.mark.slow
def test_probe_on_cached_features_trains_as_the_backbone_would(tiny_cfg, tmp_path):
    cache = tmp_path / "cache"
    overrides = [*PROBE, "optim.head_lr=1e-2", f"data.cache_dir={cache}"]
    plain, _, plain_metrics = fit(
        tiny_cfg(*overrides, "finetune.cache_features=false"), tmp_path, "plain"
    )
    assert plain.feature_cache_status is None and plain.backbone_frozen
    cached, dm, cached_metrics = fit(tiny_cfg(*overrides), tmp_path, "cached")
    assert cached.feature_cache_status == "computed"
    assert set(dm.features) == {"train", "val", "test"}
    # The backbone ran once per batch of each split (features), never in training or testing.
    n_batches = sum(-(-len(dm.datasets[s]) // dm.eval_batch_size) for s in dm.features)
    assert cached.backbone_calls == n_batches < plain.backbone_calls
    assert len(list((cache / "features").glob("*.pt"))) == 3
    # Same batches, order and steps: the heads end (nearly) equal, the metrics equal.
    cached_head = cached.head.state_dict()
    for name, value in plain.head.state_dict().items():
        torch.testing.assert_close(cached_head[name], value, rtol=1e-3, atol=1e-5, msg=name)
    for key in ("test/acc", "test/f1_macro", "test/loss"):
        assert float(cached_metrics[key]) == pytest.approx(float(plain_metrics[key]))
    assert len(cached.test_outputs) and "output" in cached.test_outputs[0]

    again, _, _ = fit(tiny_cfg(*overrides, "finetune.head_lr=0.1"), tmp_path, "again")
    assert again.feature_cache_status == "read"  # same backbone and inputs: from disk
    assert again.backbone_calls == 0
    seeded, _, _ = fit(tiny_cfg(*overrides, "seed=7"), tmp_path, "seeded")
    assert seeded.feature_cache_status == "computed"  # tiny_bert is random-init: new weights


def test_unfreezing_or_augmented_runs_are_not_cached(tiny_cfg, tmp_path):
    module, dm, _ = fit(tiny_cfg("finetune=full", "trainer.max_epochs=1"), tmp_path, "full")
    assert module.feature_cache_status is None and not module.backbone_frozen
    assert dm.features == {}
    assert why_not_cached(module, dm) is None
    dm.augment = True  # what ImageData holds for data.augment=true
    assert "data.augment=true" in why_not_cached(module, dm)


def test_the_key_follows_weights_and_inputs(tiny_cfg):
    dm, module = probe_parts(tiny_cfg(*PROBE))
    before = weights_digest(module.backbone)
    assert weights_digest(module.backbone) == before
    with torch.no_grad():
        next(module.backbone.parameters())[0, 0] += 1.0
    assert weights_digest(module.backbone) != before
    train, val = dm.datasets["train"], dm.datasets["val"]
    assert inputs_digest(train) == inputs_digest(train)
    assert inputs_digest(train) != inputs_digest(val)
