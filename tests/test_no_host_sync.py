"""The training step reads nothing back to the host: syncs do not grow with the number of steps."""

from __future__ import annotations

import json

from bakeoff.train import run


def syncs_for(tiny_cfg, tmp_path, batches: int) -> dict:
    out = tmp_path / f"sync{batches}.json"
    cfg = tiny_cfg(
        "data.limit_train=96",
        f"trainer.limit_train_batches={batches}",
        "trainer.max_epochs=1",
        "trainer.limit_val_batches=0",
        "test=false",
        "logger=csv",
        "callbacks.model_checkpoint=null",
        "callbacks.early_stopping=null",
        "+callbacks.sync._target_=tests.recorders.HostSyncCounter",
        f"+callbacks.sync.out={out}",
        f"paths.output_dir={tmp_path / str(batches)}",
    )
    run(cfg)
    return json.loads(out.read_text())


def test_default_training_step_does_no_per_step_host_sync(tiny_cfg, tmp_path):
    short, long = syncs_for(tiny_cfg, tmp_path, 2), syncs_for(tiny_cfg, tmp_path, 6)
    assert (short["steps"], long["steps"]) == (2, 6)
    # Epoch-end metric reads happen once per epoch; anything per step would add 4+ here.
    assert long["syncs"] == short["syncs"], (short, long)
