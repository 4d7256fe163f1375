"""End to end on a tiny model: a real Trainer, a real W&B offline run, the record, resume."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
import torch

from bakeoff.record.store import read_record
from bakeoff.runs.train import run
from tests.helpers.records import check_schema, unresolved


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from tests.helpers.runs import TINY, compose

    tmp = tmp_path_factory.mktemp("run")
    cfg = compose(tmp, *TINY)
    record = run(cfg)
    return tmp / "run", record


def sorted_batch_padding(tmp: Path) -> float:
    """The padded share of the TINY run's training tokens, from the tokenized lengths alone: its
    64 examples fit one length-grouping bucket, so each epoch's 4 batches of 16 are runs of the
    examples sorted by length, each padded to its longest."""
    import numpy as np

    from bakeoff.runs.assembly import build_data
    from bakeoff.utils.build import build
    from tests.helpers.runs import TINY, compose

    cfg = compose(tmp, *TINY)
    datamodule = build_data(cfg, build(cfg.model.backbone).preprocessing())
    datamodule.setup("fit")
    lengths = np.sort(datamodule.datasets["train"].lengths)
    batches = [lengths[i : i + 16] for i in range(0, len(lengths), 16)]
    assert cfg.data.group_by_length and len(lengths) == 64
    return 1 - lengths.sum() / sum(int(b.max()) * len(b) for b in batches)


def test_record_matches_schema_and_is_on_disk(finished):
    run_dir, record = finished
    on_disk = read_record(run_dir)
    assert on_disk == json.loads(json.dumps(record))
    check_schema(on_disk)
    assert on_disk["status"] == "completed" and on_disk["error"] is None
    assert (
        on_disk["data"] | {"n_train": 64, "n_val": 32, "n_test": 48, "num_classes": 2}
        == on_disk["data"]
    )
    assert unresolved(on_disk["config"]) == []
    assert on_disk["config"]["model"]["name"] == "tiny_bert"
    assert on_disk["monitor"]["best"] == on_disk["metrics"]["val"]["f1_macro"]
    assert on_disk["data"]["padded_token_fraction"] == pytest.approx(
        sorted_batch_padding(run_dir.parent)
    )
    assert not list(run_dir.glob(".results.*.tmp"))  # atomic write left no temp file


def test_test_metrics_come_from_best_checkpoint_and_predictions(finished):
    run_dir, record = finished
    best = torch.load(record["paths"]["best_ckpt"], weights_only=True)  # loads without pickle
    assert best["epoch"] == record["monitor"]["best_epoch"]
    lines = (run_dir / record["paths"]["predictions"]).read_text().splitlines()
    assert lines[0] == "index,label,pred,prob,prob_great,prob_other,score"
    rows = [line.split(",") for line in lines[1:]]
    assert [int(r[0]) for r in rows] == list(range(48))
    acc = sum(r[1] == r[2] for r in rows) / len(rows)
    assert acc == pytest.approx(record["metrics"]["test"]["acc"], abs=1e-6)
    assert [int(r[-1]) for r in rows] == [int(r[1] == r[2]) for r in rows]  # score: correctness


def test_wandb_offline_run_is_written_and_named(finished):
    run_dir, record = finished
    runs = list((Path(run_dir) / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    assert record["run_id"] and runs[0].name.endswith(record["run_id"])
    assert list(runs[0].glob("*.wandb"))


def test_wandb_init_error_reaches_the_job_not_the_thread(tmp_path):
    """The run starts in a background thread; its error is raised where the run is needed."""
    from bakeoff.loggers.wandb import finish_wandb
    from bakeoff.loggers.wandb_logger import BackgroundWandbLogger

    logger = BackgroundWandbLogger(project="p", save_dir=str(tmp_path), mode="bogus")
    with pytest.raises(Exception, match="bogus"):
        logger.experiment.id  # noqa: B018  (using the run waits for it)
    finish_wandb([logger])  # nothing left starting, nothing raised a second time
    assert logger._starting is None


def test_wandb_logs_made_while_the_run_starts_arrive_in_order(tmp_path):
    from bakeoff.loggers.wandb import finish_wandb
    from bakeoff.loggers.wandb_logger import BackgroundWandbLogger
    from tests.helpers.wandb_files import offline_runs

    logger = BackgroundWandbLogger(project="p", save_dir=str(tmp_path), mode="offline")
    queued_while_starting = logger._starting.is_alive()  # init takes ~0.5 s: these are queued
    logger.log_hyperparams({"lr": 0.1})
    for step in range(3):
        logger.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
    finish_wandb([logger])
    (run,) = offline_runs(tmp_path)
    assert queued_while_starting
    assert "lr" in run.config_keys
    assert float(run.history["train/loss"]) == pytest.approx(1 / 3)  # the last one logged
    assert run.exit_code == 0


def test_wandb_run_starts_at_the_first_metrics_not_while_the_job_starts(tmp_path):
    """Nothing W&B does delays a job's first step: the run starts once there is something to
    show (the first metrics), and touching `experiment` at fit setup, as Lightning does, only
    gets a stand-in; using the stand-in waits for the run."""
    import time

    from bakeoff.loggers.wandb import finish_wandb
    from bakeoff.loggers.wandb_logger import BackgroundWandbLogger, StartingRun
    from tests.helpers.wandb_files import offline_runs

    logger = BackgroundWandbLogger(project="p", save_dir=str(tmp_path), mode="offline")
    logger.log_hyperparams({"lr": 0.1})  # before fit: queued, does not start the run
    stand_in = logger.experiment  # what Lightning's setup does with every logger
    time.sleep(1.0)  # an init takes ~0.5 s: had it begun, the run would exist by now
    assert isinstance(stand_in, StartingRun)
    assert logger._experiment is None and logger._starting.is_alive()
    logger.log_metrics({"train/loss": 0.5}, step=0)  # the first metrics start it
    assert stand_in.id == logger.experiment.id  # used: waits for the run, then is the run
    logger.log_metrics({"train/loss": 0.25}, step=1)
    finish_wandb([logger])
    (run,) = offline_runs(tmp_path)
    assert "lr" in run.config_keys and float(run.history["train/loss"]) == 0.25


def test_wandb_run_starts_by_itself_when_no_metrics_come(tmp_path, monkeypatch):
    from bakeoff.loggers.wandb import finish_wandb
    from bakeoff.loggers.wandb_logger import BackgroundWandbLogger
    from tests.helpers.wandb_files import offline_runs

    monkeypatch.setattr(BackgroundWandbLogger, "START_AFTER_S", 0.0)
    logger = BackgroundWandbLogger(project="p", save_dir=str(tmp_path), mode="offline")
    logger._starting.join(timeout=60)  # nothing logged: it started when the wait ran out
    assert logger._experiment is not None
    finish_wandb([logger])
    assert len(offline_runs(tmp_path)) == 1


def test_pydantic_docstrings_of_an_imported_model_need_no_module_rescan(tmp_path, monkeypatch):
    """wandb's import defines pydantic models with attribute docstrings; pydantic asks inspect
    for the module of each frame of the import, importlib's frozen frames included. Mapped, those
    asks are cache hits (a full sys.modules scan each, unmapped: seconds with torch loaded)."""
    import importlib
    import inspect

    from bakeoff.utils.frozen_frames import map_frozen_import_frames

    def import_models(name: str) -> tuple[type, int]:
        (tmp_path / f"{name}.py").write_text(
            "from typing import Generic, TypeVar\n"
            "from pydantic import BaseModel, ConfigDict\n"
            "T = TypeVar('T')\n"
            "class Page(BaseModel, Generic[T]):\n"
            "    model_config = ConfigDict(use_attribute_docstrings=True)\n"
            "    x: T\n"
            '    """the docstring of x"""\n'
            # a parametrized model's source is in no frame: pydantic asks about every frame
            "IntPage = Page[int]\n"
        )
        calls = 0
        real = inspect.ismodule

        def counting(obj):  # each sys.modules scan calls it once per loaded module
            nonlocal calls
            calls += 1
            return real(obj)

        with monkeypatch.context() as m:
            m.setattr(inspect, "ismodule", counting)
            m.syspath_prepend(str(tmp_path))
            module = importlib.import_module(name)
        return module.IntPage, calls

    for name in [n for n in inspect.modulesbyfile if "<frozen " in n]:  # as a fresh process
        del inspect.modulesbyfile[name]
    _, unmapped = import_models("models_unmapped")
    map_frozen_import_frames()
    page, mapped = import_models("models_mapped")
    assert page.model_fields["x"].description == "the docstring of x"  # still found
    # in scans of sys.modules: the module just imported is new to inspect's cache (one scan)
    assert mapped / len(sys.modules) < 2 and unmapped / len(sys.modules) > 5


def test_max_steps_inside_the_first_epoch_finishes_without_validation(tiny_cfg):
    record = run(tiny_cfg("logger=csv", "trainer.max_steps=2"))  # 64 examples: 4 batches/epoch
    assert record["status"] == "completed"
    assert record["metrics"]["val"] == {} and record["monitor"]["best"] is None
    assert record["paths"]["best_ckpt"] is None  # so the test split sees the final weights
    with open(Path(record["paths"]["run_dir"]) / record["paths"]["predictions"]) as f:
        scores = [int(row["score"]) for row in csv.DictReader(f)]
    assert len(scores) == 48 and record["metrics"]["test"]["acc"] == pytest.approx(sum(scores) / 48)
