"""Faults while a run runs or writes: a diverged loss, out of memory, an output dir that cannot
be written, W&B that cannot go online, truncated records, and files written whole.

Most cases call the function that handles the fault; the real CLI only where the CLI's own
behaviour (exit status, one line, no traceback) is what is tested.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest
import torch

from bakeoff.callbacks.nonfinite import NonFiniteLossError
from bakeoff.errors import ConfigError, DataError, OutOfMemoryError, explain_out_of_memory
from bakeoff.record.store import check_writable, read_record, write_record
from tests.helpers.runs import ROOT, TINY, compose, run_cli


def strict_json(path: Path):
    """json.loads that refuses NaN / Infinity, as strict parsers (JavaScript, jq) do."""

    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(path.read_text(), parse_constant=refuse)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


# -- a loss that is not a number ------------------------------------------------------------------


@pytest.mark.slow  # a real training start-up (~20 s on 2 idle cores)
def test_nan_loss_fails_the_run_at_that_step_with_a_strict_json_record(tmp_path):
    # The real CLI: exit status 1, one line, no traceback (a diverged run is not a crash).
    result = run_cli(
        "train.py",
        *TINY,
        "optim.lr=1e30",
        "optim.head_lr=1e30",
        "logger=csv",
        f"paths.log_dir={tmp_path / 'logs'}",
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    # Step 1's loss is computed before any update; its 1e30 update makes step 2's loss inf/NaN.
    line = re.search(
        r"error: training loss is not finite \(NaN or inf\) from step 2 .*", result.stderr
    )
    assert line, result.stderr
    assert "(epoch 0), learning rate 1e+30; stopped after 1 such step(s)" in line.group()
    assert "callbacks.nonfinite_loss.patience=0" in line.group() and "optim.lr" in line.group()
    (record_path,) = (tmp_path / "logs").rglob("results.json")
    record = strict_json(record_path)  # no NaN / Infinity tokens
    assert record["status"] == "failed"
    assert record["error"].startswith("NonFiniteLossError: training loss is not finite")
    assert record["traceback"] is None  # the message explains it: a user error
    # Stopped inside the first epoch (4 steps): never validated, no checkpoint written.
    assert record["history"] == [] and record["metrics"]["val"] == {}
    assert not any((record_path.parent / "checkpoints").glob("epoch*.ckpt"))


def test_nan_loss_patience_tolerates_that_many_steps_in_a_row(tiny_cfg):
    from bakeoff.runs.train import run

    cfg = tiny_cfg(
        "optim.lr=1e30", "optim.head_lr=1e30", "logger=csv", "callbacks.nonfinite_loss.patience=2"
    )
    with pytest.raises(NonFiniteLossError, match=r"from step 2 .* stopped after 3 such step"):
        run(cfg)


def test_record_writes_null_for_nan_and_infinity_with_a_normal_mode(tmp_path, umask_022):
    record = {
        "status": "failed",
        "metrics": {"val": {"loss": float("nan"), "acc": 0.5}},
        "history": [{"epoch": 0, "train/loss": float("inf"), "val/loss": -float("inf")}],
        "tensor": torch.tensor(float("nan")),
    }
    path = write_record(tmp_path, record)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    back = strict_json(path)
    assert back["metrics"]["val"] == {"loss": None, "acc": 0.5}
    assert back["history"] == [{"epoch": 0, "train/loss": None, "val/loss": None}]
    assert back["tensor"] is None
    assert mode_of(path) == 0o644  # was 0600 (mkstemp)
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temp file left


# -- out of memory --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError(
            "DefaultCPUAllocator: not enough memory: you tried to allocate; out of memory"
        ),
        MemoryError(),
    ],
)
def test_out_of_memory_is_explained_with_the_remedies(error):
    explained = explain_out_of_memory(error)
    assert isinstance(explained, OutOfMemoryError)
    message = str(explained)
    for remedy in (
        "data.batch_size",
        "trainer.accumulate_grad_batches",
        "gradient_checkpointing",
        "trainer.precision",
    ):
        assert remedy in message
    assert explain_out_of_memory(ValueError("shapes do not match")) is None


def test_out_of_memory_in_a_run_is_recorded_with_the_remedies(tmp_path):
    from bakeoff.runs.common import recorded

    cfg = compose(tmp_path, "model=tiny_bert", "logger=csv")

    @recorded()
    def body(cfg, record):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    with pytest.raises(OutOfMemoryError, match="accumulate_grad_batches"):
        body(cfg)
    record = read_record(tmp_path / "run")
    assert record["status"] == "failed"
    assert record["error"].startswith("OutOfMemoryError: out of memory (CUDA out of memory.")
    assert "gradient_checkpointing" in record["error"]


# -- an output dir that cannot be written ---------------------------------------------------------


def test_unwritable_run_dir_fails_before_the_run_naming_the_path(tmp_path):
    from bakeoff.runs.common import recorded

    blocker = tmp_path / "a_file"
    blocker.write_text("user data\n")
    run_dir = blocker / "logs" / "run"
    with pytest.raises(ConfigError, match=rf"cannot write the run dir {re.escape(str(run_dir))}"):
        check_writable(run_dir)
    cfg = compose(tmp_path, "model=tiny_bert", "logger=csv", f"paths.output_dir={run_dir}")
    started = []
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        recorded()(lambda *args: started.append(args))(cfg)
    assert started == []  # failed before the run's body
    assert blocker.read_text() == "user data\n"


def test_cli_unwritable_log_dir_is_one_line_naming_the_path(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("user data\n")
    result = run_cli(
        "train.py", "model=tiny_bert", "logger=csv", f"paths.log_dir={blocker}/logs", cwd=ROOT
    )
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert f"error: paths.log_dir: cannot write the output dir {blocker}/logs/runs/" in output
    assert f"{blocker} is a file, not a folder" in output
    assert blocker.read_text() == "user data\n"


# -- W&B that cannot go online --------------------------------------------------------------------


def test_wandb_online_without_a_key_logs_offline_with_one_warning(monkeypatch, tmp_path, caplog):
    from bakeoff.loggers.wandb import resolve_mode

    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc with a W&B key
    monkeypatch.setenv("NETRC", str(tmp_path / "no_netrc"))
    with caplog.at_level("WARNING"):
        assert resolve_mode("online") == "offline"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "no W&B API key" in warnings[0]
    assert resolve_mode("offline") == "offline"  # offline never needs a key
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    assert resolve_mode("online") == "online"


def test_wandb_online_run_that_cannot_start_falls_back_to_offline(monkeypatch, caplog):
    import wandb
    from lightning.pytorch.loggers import WandbLogger

    from bakeoff.loggers.wandb_logger import BackgroundWandbLogger

    modes = []

    def experiment(self):
        modes.append(self._wandb_init["mode"])
        if self._wandb_init["mode"] == "online":
            raise wandb.errors.CommError("failed to reach api.wandb.ai: connection refused")
        self._experiment = "offline run"
        return self._experiment

    monkeypatch.setattr(WandbLogger, "experiment", property(experiment))
    logger = BackgroundWandbLogger.__new__(BackgroundWandbLogger)
    logger._wandb_init, logger._experiment, logger._start_error = {"mode": "online"}, None, None
    with caplog.at_level("WARNING"):
        logger._start()
    assert modes == ["online", "offline"] and logger._start_error is None
    assert logger._experiment == "offline run"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "CommError: failed to reach api.wandb.ai" in warnings[0]
    # An offline run's own error is not hidden behind another try.
    modes.clear()
    logger._wandb_init, logger._experiment = {"mode": "offline"}, None
    monkeypatch.setattr(WandbLogger, "experiment", property(lambda self: 1 / 0))
    logger._start()
    assert isinstance(logger._start_error, ZeroDivisionError)


# -- files written whole --------------------------------------------------------------------------


def test_checkpoint_and_predictions_are_written_atomically_with_normal_modes(
    tmp_path, umask_022, monkeypatch
):
    from bakeoff.callbacks.checkpoint_io import AtomicCheckpointIO
    from bakeoff.runs.common import write_rows

    io = AtomicCheckpointIO()
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}}, ckpt)
    assert mode_of(ckpt) == 0o644
    assert torch.equal(torch.load(ckpt, weights_only=True)["state_dict"]["w"], torch.ones(3))

    def killed_mid_write(obj, path):  # half a file, then the process "dies"
        Path(path).write_bytes(b"PK\x03\x04 half")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed_mid_write)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(3)}}, ckpt)
    monkeypatch.undo()
    assert torch.equal(torch.load(ckpt, weights_only=True)["state_dict"]["w"], torch.ones(3))
    assert sorted(p.name for p in ckpt.parent.iterdir()) == ["last.ckpt"]

    # Every run's Trainer saves through it.
    from bakeoff.runs.common import build_trainer

    cfg = compose(tmp_path, "model=tiny_bert", "logger=csv", "trainer.accelerator=cpu")
    trainer = build_trainer(cfg, tmp_path / "run", [])
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)

    preds = tmp_path / "test_predictions.csv"
    write_rows(preds, [{"index": 0, "pred": "pos", "prob": 0.25}])
    assert preds.read_text() == "index,pred,prob\n0,pos,0.25\n"
    assert mode_of(preds) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "run") == [
        "checkpoints",
        "test_predictions.csv",
    ]


# -- comparisons: truncated records, earlier comparisons, running sweeps --------------------------


def make_sweep(root: Path, n: int = 3) -> Path:
    """Completed jobs with records as a run writes them (write_record) and their predictions."""
    for job in range(n):
        run_dir = root / str(job)
        (run_dir / ".hydra").mkdir(parents=True)
        (run_dir / ".hydra" / "overrides.yaml").write_text(f"- model=m{job}\n- seed=1\n")
        (run_dir / "test_predictions.csv").write_text(
            "index,label,pred,score\n" + "".join(f"{i},a,a,{int(i > job)}\n" for i in range(6))
        )
        write_record(
            run_dir,
            {
                "status": "completed",
                "seed": 1,
                "overrides": [f"model=m{job}", "seed=1"],
                "model": {"name": f"m{job}"},
                "data": {"name": "d"},
                "monitor": {"metric": "val/acc", "mode": "max"},
                "metrics": {"val": {"acc": 0.5 + 0.1 * job}, "test": {"acc": 0.4 + 0.1 * job}},
                "paths": {"predictions": "test_predictions.csv"},
            },
        )
    return root


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_truncated_record_fails_compare_naming_it_and_keeps_the_earlier_comparison(tmp_path):
    from bakeoff.results.comparison import main

    sweep = make_sweep(tmp_path / "sweep")
    assert main([str(sweep), "--format", "md,csv", "--no-plots"]) == 0
    earlier = snapshot(sweep / "comparison")
    assert "leaderboard.md" in earlier and "inputs.json" in earlier
    record = sweep / "1" / "results.json"
    record.write_bytes(record.read_bytes()[:40])  # a copy cut short, a disk full ...
    # The real CLI: exit status, one line naming the file, no traceback.
    result = run_cli(
        "-m", "bakeoff.results.comparison", str(sweep), "--format", "md,csv", cwd=ROOT, timeout=120
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"bakeoff-compare: error: unreadable record {record}:" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(sweep / "comparison") == earlier  # not overwritten
    assert sorted(p.name for p in sweep.iterdir()) == ["0", "1", "2", "comparison"]


def test_comparison_with_other_inputs_keeps_the_earlier_one_same_inputs_replace_it(tmp_path):
    from bakeoff.results.comparison import compare

    sweep = make_sweep(tmp_path / "sweep", n=2)
    first = compare(sweep, formats=["md"], plots=False)
    assert first.files == [sweep / "comparison" / "leaderboard.md"]
    before = snapshot(sweep / "comparison")
    compare(sweep, formats=["md"], plots=False)  # same records, same options: replaced
    assert sorted(p.name for p in sweep.iterdir()) == ["0", "1", "comparison"]
    assert snapshot(sweep / "comparison") == before
    make_sweep(tmp_path / "more", n=3)
    (tmp_path / "more" / "2").rename(sweep / "2")  # a job finished since: other inputs
    third = compare(sweep, formats=["md"], plots=False)
    assert sorted(p.name for p in sweep.iterdir()) == ["0", "1", "2", "comparison", "comparison.1"]
    assert snapshot(sweep / "comparison.1") == before  # the earlier comparison, whole
    assert "m2" in (sweep / "comparison" / "leaderboard.md").read_text()
    assert third.files == [sweep / "comparison" / "leaderboard.md"]
    # A folder of the user's own files is never moved aside or written into.
    user_dir = tmp_path / "notes"
    user_dir.mkdir()
    (user_dir / "thesis.tex").write_text("mine")
    (user_dir / "leaderboard.md").write_text("old")
    from bakeoff.errors import BakeoffError

    with pytest.raises(BakeoffError, match=r"notes holds files a comparison does not write"):
        compare(sweep, formats=["md"], plots=False, out_dir=user_dir)
    assert snapshot(user_dir) == {"thesis.tex": b"mine", "leaderboard.md": b"old"}


def test_comparison_of_a_running_sweep_reads_only_complete_records(tmp_path):
    from bakeoff.results.comparison import compare

    sweep = make_sweep(tmp_path / "sweep", n=2)
    running = sweep / "2"
    (running / ".hydra").mkdir(parents=True)
    (running / ".hydra" / "overrides.yaml").write_text("- model=m2\n- seed=1\n")
    # A record being written: write_record's temp file, never named results.json until whole.
    (running / ".results.json.123.abcd1234.tmp").write_text('{"status": "completed", "metr')
    result = compare(sweep, formats=None, plots=False)
    status = dict(zip(result.runs["config"], result.runs["status"], strict=True))
    assert status == {"model=m0": "completed", "model=m1": "completed", "model=m2": "running"}
    assert result.best == "model=m1"


# -- checkpoints and inputs given to eval / predict -----------------------------------------------


def test_eval_of_a_file_that_is_not_a_checkpoint_names_it(tmp_path):
    from bakeoff.runs.evaluate import load_run_config

    notes = tmp_path / "notes.txt"
    notes.write_text("not a checkpoint\n")
    with pytest.raises(ConfigError, match=rf"ckpt_path: {re.escape(str(notes))} is not a readable"):
        load_run_config(notes)
    foreign = tmp_path / "other.ckpt"
    torch.save({"state_dict": {}}, foreign)  # a checkpoint, but not bakeoff's
    with pytest.raises(ConfigError, match="was not written by bakeoff"):
        load_run_config(foreign)
    assert notes.read_text() == "not a checkpoint\n"


def test_predict_input_that_looks_like_a_missing_file_is_an_error_not_a_text(tmp_path):
    from bakeoff.runs.predict import read_inputs

    for spec in ("nosuch.csv", "data/reviews.jsonl", "photos/cat.jpg"):
        with pytest.raises(DataError, match=r"input: no file .*" + re.escape(spec)):
            read_inputs(str(tmp_path / spec) if "/" in spec else spec, "text", "text")
    assert read_inputs("Great tea", "text", "text") == (["Great tea"], ["0"])
    assert read_inputs("wonderful!", "text", "text") == (["wonderful!"], ["0"])
    table = tmp_path / "reviews.csv"
    table.write_text("text\nnice\nbad\n")
    assert read_inputs(str(table), "text", "text") == (["nice", "bad"], ["0", "1"])
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text\ncafé\n".encode("latin-1"))
    with pytest.raises(DataError, match=rf"input: {latin} is not valid utf-8 text .*save the file"):
        read_inputs(str(latin), "text", "text")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_comparison_files_have_normal_modes(tmp_path, umask_022):
    from bakeoff.results.comparison import compare

    sweep = make_sweep(tmp_path / "sweep", n=2)
    result = compare(sweep, formats=["md", "csv"], plots=False)
    assert {mode_of(p) for p in result.files} == {0o644}
    assert mode_of(sweep / "comparison") == 0o755
