"""trainer=ddp_sim (two CPU processes, ddp_spawn) with a mid-run unfreeze, through the CLI.

DDP registers the parameters it will average when it wraps the model. A layer frozen then and
unfrozen later must still be averaged, or the replicas drift apart silently: every rank's
parameter checksum is compared at each epoch end. Under spawn, fit runs in child processes:
the record must still carry rank 0's val history, freeze history and padding count.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers.runs import ROOT, run_cli


@pytest.mark.slow
def test_ddp_spawn_unfreeze_keeps_replicas_equal_and_the_record_whole(tmp_path):
    sums = tmp_path / "sums.json"
    proc = run_cli(
        str(ROOT / "train.py"),
        "model=tiny_bert",
        "trainer=ddp_sim",
        "finetune=freeze_unfreeze",
        "finetune.unfreeze_at_epoch=1",
        "trainer.max_epochs=2",
        "data.limit_train=128",
        "data.limit_val=32",
        "data.limit_test=32",
        "data.max_length=32",
        "callbacks.progress_bar=null",
        "logger=csv",  # its test pass runs in fresh spawned processes: fit rows must survive
        "+callbacks.sums._target_=tests.recorders.ReplicaChecksums",
        f"+callbacks.sums.out={sums}",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    epochs = json.loads(sums.read_text())
    assert [e["epoch"] for e in epochs] == [0, 1]
    for e in epochs:
        assert len(e["sums"]) == 2 and e["sums"][0] == e["sums"][1], e  # replicas identical
    assert epochs[0]["trainable"] < epochs[1]["trainable"]  # the unfreeze happened
    assert epochs[0]["sums"] != epochs[1]["sums"]  # and the unfrozen backbone trained
    import csv

    with open(tmp_path / "run" / "csv" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["epoch"] for r in rows if r.get("val/f1_macro")} == {"0", "1"}  # fit's rows kept
    assert any(r.get("test/f1_macro") for r in rows)  # and the spawned test pass added its own

    record = json.loads((tmp_path / "run" / "results.json").read_text())
    assert record["status"] == "completed" and record["resources"]["world_size"] == 2
    best = max(h["val/f1_macro"] for h in record["history"])  # the monitored best epoch's
    assert record["monitor"]["best"] == best == record["metrics"]["val"]["f1_macro"]
    assert [h["epoch"] for h in record["finetune"]["trainable_history"]] == [0, 1]
    assert record["timing"]["startup_s"] > 0 and record["timing"]["train_samples_per_s"] > 0
    assert 0 <= record["data"]["padded_token_fraction"] < 1
    assert not (tmp_path / "run" / ".fit_state.json").exists()
