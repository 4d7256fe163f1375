"""The training step reads nothing back to the host: syncs do not grow with the number of steps."""

from __future__ import annotations

import json

from bakeoff.runs.train import run


def syncs_for(tiny_cfg, tmp_path, batches: int, name: str = "") -> dict:
    out = tmp_path / f"sync{batches}{name}.json"
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
        f"paths.output_dir={tmp_path / (str(batches) + name)}",
    )
    run(cfg)
    return json.loads(out.read_text())


def test_default_training_step_does_no_per_step_host_sync(tiny_cfg, tmp_path):
    short, long = syncs_for(tiny_cfg, tmp_path, 2), syncs_for(tiny_cfg, tmp_path, 6)
    assert (short["steps"], long["steps"]) == (2, 6)
    # Epoch-end metric reads happen once per epoch; anything per step would add 4+ here.
    assert long["syncs"] == short["syncs"], (short, long)


def test_a_read_in_the_training_step_is_counted(tiny_cfg, tmp_path, monkeypatch):
    """The counter sees the step itself, which Lightning runs inside `optimizer.step`."""
    from bakeoff.models.module import TaskModule

    clean = syncs_for(tiny_cfg, tmp_path, 3)
    shared_step = TaskModule._shared_step

    def reading_step(self, batch, stage):
        loss, outputs = shared_step(self, batch, stage)
        loss.item()  # what a training step must not do: one host sync per step
        return loss, outputs

    monkeypatch.setattr(TaskModule, "_shared_step", reading_step)
    injected = syncs_for(tiny_cfg, tmp_path, 3, name="injected")
    assert injected["steps"] == 3
    assert injected["syncs"] == clean["syncs"] + 3, (clean, injected)
    assert injected["readers"][__file__] == 3
