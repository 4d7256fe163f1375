"""Exact resume and training budgets (issue 22): a run paused at an epoch boundary by
`budget.epochs` and continued with `resume=true` equals the run trained straight through, on
CPU: parameters, history, metrics and predictions file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bakeoff.runs.train import run

# 3 batches an epoch, a 4-epoch horizon; early stopping off (its own case is below).
FOUR_EPOCHS = [
    "trainer.max_epochs=4",
    "data.limit_train=48",
    "data.limit_val=16",
    "data.limit_test=16",
    "data.max_length=32",
    "logger=csv",
    "callbacks.early_stopping=null",
]


def last_params(record: dict) -> dict[str, torch.Tensor]:
    path = Path(record["paths"]["run_dir"]) / "checkpoints" / "last.ckpt"
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def assert_same_run(straight: dict, resumed: dict) -> None:
    assert straight["status"] == resumed["status"] == "completed", resumed["error"]
    assert straight["epochs_trained"] == resumed["epochs_trained"] == 4
    assert straight["history"] == resumed["history"]
    assert [h["epoch"] for h in resumed["history"]] == [0, 1, 2, 3]
    assert straight["metrics"] == resumed["metrics"] and resumed["metrics"]["test"]
    assert straight["monitor"] == resumed["monitor"]
    a, b = last_params(straight), last_params(resumed)
    assert list(a) == list(b)
    assert not [k for k in a if not torch.equal(a[k], b[k])]
    preds = [Path(r["paths"]["run_dir"]) / r["paths"]["predictions"] for r in (straight, resumed)]
    assert preds[0].read_text() == preds[1].read_text()


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param(["finetune=full"], id="full"),
        # unfreezes in epoch 3: after the pause, in the resumed part
        pytest.param(["finetune=freeze_unfreeze", "finetune.unfreeze_at_epoch=3"], id="unfreeze"),
        pytest.param(["data.num_workers=1", "data.group_by_length=true"], id="worker"),
    ],
)
def test_paused_at_2_and_resumed_equals_4_straight_epochs(overrides, tiny_cfg, tmp_path):
    straight = run(tiny_cfg(*FOUR_EPOCHS, *overrides, f"paths.output_dir={tmp_path / 'a'}"))
    out = f"paths.output_dir={tmp_path / 'b'}"
    paused = run(tiny_cfg(*FOUR_EPOCHS, *overrides, out, "budget.epochs=2"))
    assert paused["status"] == "paused" and paused["epochs_trained"] == 2
    assert [h["epoch"] for h in paused["history"]] == [0, 1]
    assert paused["history"] == straight["history"][:2]
    assert paused["metrics"]["test"] == {} and paused["paths"]["predictions"] is None
    assert (tmp_path / "b" / "checkpoints" / "last.ckpt").is_file()
    if "finetune=freeze_unfreeze" in overrides:  # still frozen at the pause
        trainable = paused["finetune"]["trainable_history"]
        assert trainable[-1]["trainable"] < trainable[-1]["total"]
    # a budget it has reached already: nothing trains, still paused
    again = run(tiny_cfg(*FOUR_EPOCHS, *overrides, out, "budget.epochs=2", "resume=true"))
    assert again["status"] == "paused" and again["history"] == paused["history"]
    resumed = run(tiny_cfg(*FOUR_EPOCHS, *overrides, out, "resume=true"))
    assert_same_run(straight, resumed)
    # the whole run's fit time: this launch's plus the paused launch's (none in `again`)
    assert straight["timing"]["fit_s_earlier"] is None
    assert resumed["timing"]["fit_s_earlier"] == paused["timing"]["fit_s"]


def test_early_stopping_inside_the_budget_completes(tiny_cfg, tmp_path):
    # a learning rate too small to move the val metric by min_delta: patience 1 stops the run
    # within a few epochs, before the budget of 5 of a 6-epoch horizon
    record = run(
        tiny_cfg(
            *[o for o in FOUR_EPOCHS if not o.startswith("callbacks.early_stopping")],
            "trainer.max_epochs=6",
            "callbacks.early_stopping.patience=1",
            "+callbacks.early_stopping.min_delta=0.01",
            "optim.lr=1e-12",
            "budget.epochs=5",
        )
    )
    assert record["status"] == "completed" and record["epochs_trained"] < 5
    assert record["metrics"]["test"]


def test_budget_must_be_a_positive_number_of_epochs(tiny_cfg):
    from bakeoff.checks.validate import ConfigProblems, validate_config

    with pytest.raises(ConfigProblems, match=r"budget\.epochs: 0 is not a number of epochs"):
        validate_config(tiny_cfg("budget.epochs=0"))
