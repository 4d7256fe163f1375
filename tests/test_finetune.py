"""Each freeze strategy on a real Trainer: who gets gradients, who changes, at which LR."""

from __future__ import annotations

import csv
import json

import pytest

from bakeoff.models.finetune import Full, Gradual
from bakeoff.runs.train import run

LR, HEAD_LR = 1e-3, 1e-2


def run_with_activity(tiny_cfg, tmp_path, *overrides):  # output in tmp_path/run (conftest)
    out = tmp_path / "activity.json"
    cfg = tiny_cfg(
        "+callbacks.activity._target_=tests.recorders.GroupActivity",
        f"+callbacks.activity.out={out}",
        "scheduler=constant",
        f"optim.lr={LR}",
        f"optim.head_lr={HEAD_LR}",
        "logger=csv",
        "callbacks.early_stopping=null",
        *overrides,
    )
    record = run(cfg)
    return json.loads(out.read_text()), record


# tiny_bert has 3 backbone groups: embeddings, block 0, block 1 (its unused pooler is dropped).
ALL = ["backbone_0", "backbone_1", "backbone_2", "head"]


def test_full_trains_everything_from_the_start(tiny_cfg, tmp_path):
    epochs, record = run_with_activity(tiny_cfg, tmp_path, "finetune=full", "trainer.max_epochs=1")
    assert epochs[0]["changed"] == ALL and epochs[0]["with_grad"] == ALL
    assert record["model"]["params_trainable"] == record["model"]["params_total"]


def test_linear_probe_never_touches_the_backbone(tiny_cfg, tmp_path):
    # the probe's head LR is finetune.head_lr (optim.head_lr alone would be refused as ignored)
    probe = ("finetune=linear_probe", f"finetune.head_lr={HEAD_LR}")
    epochs, record = run_with_activity(tiny_cfg, tmp_path, *probe)
    for e in epochs:
        assert e["changed"] == ["head"] and e["with_grad"] == ["head"]
    assert record["model"]["params_trainable"] == 64 * 2 + 2  # the head: Linear(64, 2)


def test_freeze_unfreeze_opens_backbone_at_epoch_k_at_lower_lr_with_decay(tiny_cfg, tmp_path):
    epochs, record = run_with_activity(
        tiny_cfg,
        tmp_path,
        "finetune=freeze_unfreeze",
        "finetune.unfreeze_at_epoch=1",
        "finetune.unfreeze_lr_factor=0.1",
        "finetune.layer_decay=0.5",
    )
    assert epochs[0]["changed"] == ["head"] and epochs[0]["with_grad"] == ["head"]
    assert epochs[1]["changed"] == ALL and epochs[1]["with_grad"] == ALL
    lrs = epochs[1]["lrs"]  # constant schedule: the optimizer's LR is each group's base LR
    for i in range(3):
        expected = LR * 0.1 * 0.5 ** (2 - i)
        assert lrs[f"backbone_{i}"] == pytest.approx(expected)
        assert lrs[f"backbone_{i}_no_decay"] == pytest.approx(expected)
    assert lrs["head"] == pytest.approx(HEAD_LR)
    history = record["finetune"]["trainable_history"]
    assert [h["epoch"] for h in history] == [0, 1]
    assert history[0]["trainable"] == 130 and history[1]["trainable"] == history[1]["total"]


def test_gradual_unfreezes_top_down_at_milestones(tiny_cfg, tmp_path):
    epochs, _ = run_with_activity(
        tiny_cfg,
        tmp_path,
        "finetune=gradual",
        "finetune.milestones=[1,2]",
        "finetune.groups_per_step=1",
        "trainer.max_epochs=3",
    )
    assert [e["changed"] for e in epochs] == [
        ["head"],
        ["backbone_2", "head"],
        ["backbone_1", "backbone_2", "head"],
    ]
    assert [e["with_grad"] for e in epochs] == [e["changed"] for e in epochs]


def test_layer_decay_gives_geometric_lrs_top_to_bottom(tiny_cfg, tmp_path):
    epochs, _ = run_with_activity(
        tiny_cfg,
        tmp_path,
        "finetune=layer_decay",
        "finetune.layer_decay=0.8",
        "trainer.max_epochs=1",
    )
    lrs, weight_decays = epochs[0]["lrs"], epochs[0]["weight_decays"]
    groups = [f"{part}{kind}" for part in ALL for kind in ("", "_no_decay")]
    assert sorted(lrs) == sorted(groups)  # biases and norm weights in their own groups
    for i, expected in enumerate([LR * 0.64, LR * 0.8, LR]):
        assert lrs[f"backbone_{i}"] == pytest.approx(expected)
        assert lrs[f"backbone_{i}_no_decay"] == pytest.approx(expected)  # decayed the same
    assert lrs["head"] == lrs["head_no_decay"] == pytest.approx(HEAD_LR)  # the head: not decayed
    for name, weight_decay in weight_decays.items():
        assert weight_decay == (0.0 if name.endswith("_no_decay") else 0.01), name
    assert epochs[0]["changed"] == ALL


def test_strategy_policies_without_a_trainer():
    g = Gradual("gradual", milestones=[2, 4])  # 5 groups, 3 per milestone step
    assert g.trainable(0, 5) == [False] * 5
    assert g.trainable(2, 5) == [False, False, True, True, True]
    assert g.trainable(4, 5) == [True] * 5
    assert Full("full", layer_decay=0.5).lr_scale(0, 3) == 0.25
    # its options are checked once, by the config check (test_config_checks: layer_decay_zero)


def test_compile_happens_once_at_the_final_unfreeze(tiny_cfg, tmp_path):
    """model.compile: the backbone is compiled when its freeze state is final, not before.

    The `eager` backend runs dynamo's tracing without inductor's C++ build, so the wiring is
    tested in seconds; what inductor costs on CPU is measured in docs/benchmarks.md.
    """
    import torch
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    epochs, record = run_with_activity(
        tiny_cfg,
        tmp_path,
        "finetune=freeze_unfreeze",
        "finetune.unfreeze_at_epoch=1",
        "model.compile=true",
        "model.compile_options={backend: eager}",
    )
    assert record["finetune"]["compiled_at_epoch"] == 1  # not at fit start, while frozen
    assert counters["stats"]["unique_graphs"] >= 1  # dynamo did trace the backbone
    assert epochs[1]["changed"] == ALL  # the compiled backbone still learns
    ckpt = torch.load(record["paths"]["best_ckpt"], map_location="cpu", weights_only=True)
    assert not any("_orig_mod" in k for k in ckpt["state_dict"])  # eager names: loads anywhere
    # tested (on the compiled model's checkpoint): the accuracy is that of its predictions
    with open(f"{record['paths']['run_dir']}/{record['paths']['predictions']}") as f:
        scores = [int(row["score"]) for row in csv.DictReader(f)]
    assert len(scores) == 48
    assert record["metrics"]["test"]["acc"] == pytest.approx(sum(scores) / 48)
    torch._dynamo.reset()
