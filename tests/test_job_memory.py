"""Each job records its own peak memory, also when jobs share a process (the basic launcher)."""

from __future__ import annotations

import json

import pytest

from bakeoff.utils.job_memory import SAMPLED, VMHWM, JobMemory
from tests.helpers.runs import ROOT, run_cli
from tests.helpers.sweeps import multirun, records

ARGS = ["trainer.max_epochs=1", "data.limit_train=64", "data.limit_val=32", "data.limit_test=32"]
ARGS += ["logger=csv", "trainer.enable_progress_bar=false", "callbacks.progress_bar=null"]


def test_the_high_water_mark_is_the_jobs_own():
    held = bytearray(200 * 2**20)  # 200 MB resident before the job
    held[::4096] = b"x" * len(held[::4096])
    del held  # freed before the job starts: not the job's
    memory = JobMemory()
    assert memory.method in (VMHWM, SAMPLED)
    job = bytearray(50 * 2**20)
    job[::4096] = b"y" * len(job[::4096])
    peak = memory.peak_rss_mb()
    assert memory.rss_at_start_mb + 45 <= peak < memory.rss_at_start_mb + 150
    del job


@pytest.mark.slow
def test_a_majority_job_after_tiny_bert_records_its_own_peak(tmp_path):
    """Acceptance: in `model=tiny_bert,majority` (basic launcher, one process) the majority job's
    peak is below tiny_bert's, and within 10% of a fresh process running majority alone."""
    (tmp_path / "sweep").mkdir()
    proc, sweep = multirun(tmp_path / "sweep", "model=tiny_bert,majority", *ARGS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    by_model = {r["model"]["name"]: r["resources"] for r in records(sweep).values()}
    assert by_model["majority"]["peak_rss_mb"] < by_model["tiny_bert"]["peak_rss_mb"]
    assert {r["peak_rss_method"] for r in by_model.values()} == {VMHWM}
    alone = tmp_path / "alone"
    alone.mkdir()
    proc = run_cli(str(ROOT / "train.py"), "model=majority", *ARGS, "name=alone", cwd=alone)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(next(alone.glob("logs/**/results.json")).read_text())
    fresh = record["resources"]["peak_rss_mb"]
    shared = by_model["majority"]["peak_rss_mb"]
    print(f"peak RSS MB: tiny_bert {by_model['tiny_bert']['peak_rss_mb']}, majority after it")
    print(f"  {shared} (process held {by_model['majority']['rss_at_start_mb']} at its start),")
    print(f"  majority in a fresh process {fresh}")
    assert abs(shared - fresh) <= 0.10 * fresh, (shared, fresh, by_model)
