"""trainer.deterministic=true: two CPU runs with the same seed give the same numbers and weights.

With DataLoader workers (`num_workers=2`: each worker has its own RNG, seeded from the run's),
length-grouped batches (their shuffle is seeded from the run's seed), and for images random
augmentation (random resized crops and flips, drawn in the workers).
"""

from __future__ import annotations

import pytest
import torch

from bakeoff.runs.train import run

DETERMINISTIC = ["trainer.deterministic=true", "data.num_workers=2", "logger=csv", "seed=3"]


def two_runs(tiny_cfg, tmp_path, *overrides: str) -> tuple[dict, dict]:
    return tuple(
        run(tiny_cfg(*DETERMINISTIC, *overrides, f"paths.output_dir={tmp_path / name}"))
        for name in ("first", "second")
    )


def assert_same_weights(first: dict, second: dict) -> None:
    for name in ("best", "last"):
        paths = [
            r["paths"]["best_ckpt"]
            if name == "best"
            else r["paths"]["run_dir"] + "/checkpoints/last.ckpt"
            for r in (first, second)
        ]
        a, b = (torch.load(p, map_location="cpu", weights_only=True)["state_dict"] for p in paths)
        assert list(a) == list(b)
        different = [k for k in a if not torch.equal(a[k], b[k])]
        assert not different, (name, different)


@pytest.mark.slow
def test_two_text_runs_with_workers_are_identical(tiny_cfg, tmp_path):
    first, second = two_runs(tiny_cfg, tmp_path, "data.group_by_length=true")
    assert first["status"] == second["status"] == "completed"
    assert [h["epoch"] for h in first["history"]] == [0, 1]  # 2 epochs
    assert first["metrics"]["val"] and first["metrics"]["test"]
    assert first["metrics"] == second["metrics"]
    assert first["history"] == second["history"]
    assert_same_weights(first, second)


@pytest.mark.slow
def test_two_image_runs_with_augmentation_and_workers_are_identical(tiny_cfg, tmp_path):
    first, second = two_runs(
        tiny_cfg,
        tmp_path,
        "model=mobilenetv2",
        "data=digits",
        "data.augment=true",
        "data.image_size=32",
        "data.limit_train=32",
        "data.limit_val=16",
        "data.limit_test=16",
    )
    assert first["metrics"]["test"] and first["metrics"] == second["metrics"]
    assert first["history"] == second["history"]
    assert_same_weights(first, second)
