"""Multi-label classification end to end: a run's record against its predictions, eval, predict,
and the CLI on text and images."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.helpers.multilabel import (
    COLOURS,
    FRUITS,
    check_against_predictions,
    check_record,
    text_overrides,
)
from tests.helpers.runs import ROOT, TINY, compose, run_cli

# -- end to end -------------------------------------------------------------------------------------


THRESHOLD = 0.4


@pytest.fixture(scope="module")
def text_run(tmp_path_factory, text_files):
    from bakeoff.runs.train import run

    tmp = tmp_path_factory.mktemp("textrun")
    # a threshold below 0.5: this short run's probabilities cross it (F1 is not trivially 0)
    overrides = [*TINY, *text_overrides(text_files, "csv"), "logger=csv", "optim.lr=3e-3"]
    overrides += ["trainer.max_epochs=4", f"task.threshold={THRESHOLD}"]
    return tmp, run(compose(tmp, *overrides))


def test_text_run_record_matches_its_predictions(text_run):
    tmp, record = text_run
    check_record(record, 3, THRESHOLD)
    assert record["data"]["label_names"] == FRUITS
    assert record["metrics"]["test"]["f1_micro"] > 0
    check_against_predictions(record, tmp / "run", THRESHOLD)


def test_eval_reproduces_the_test_metrics(text_run, tmp_path):
    from bakeoff.runs.evaluate import evaluate

    tmp, record = text_run
    cfg = compose(
        tmp_path,
        f"ckpt_path={record['paths']['best_ckpt']}",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        config_name="eval",
    )
    result = evaluate(cfg)
    assert result["status"] == "completed"
    assert result["metrics"]["test"] == pytest.approx(record["metrics"]["test"], abs=1e-6)
    assert (tmp_path / "run" / "test_predictions.csv").read_text() == (
        tmp / "run" / "test_predictions.csv"
    ).read_text()


def test_predict_writes_label_sets(text_run, tmp_path):
    from bakeoff.runs.predict import predict

    _, record = text_run
    inputs = tmp_path / "new.csv"
    inputs.write_text("text\nan apple and a cherry\nplain old bread\n")
    out = tmp_path / "pred.csv"
    cfg = compose(
        tmp_path,
        f"ckpt_path={record['paths']['best_ckpt']}",
        f"input={inputs}",
        f"output={out}",
        "accelerator=cpu",
        config_name="predict",
    )
    predict(cfg)
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "input", "pred", *(f"prob_{n}" for n in FRUITS)]
    assert [r["input"] for r in rows] == ["an apple and a cherry", "plain old bread"]
    for r in rows:
        probs = {n: float(r[f"prob_{n}"]) for n in FRUITS}
        assert json.loads(r["pred"]) == [n for n in FRUITS if probs[n] > THRESHOLD]  # the ckpt's


@pytest.mark.slow
def test_text_sweep_eval_and_predict_from_the_cli(tmp_path, text_files):
    """`python train.py -m data=csv task=multilabel ...` (two learning rates), the leaderboard
    with paired significance on tp/fp/fn, eval.py on a checkpoint, bakeoff-predict."""
    cheap = [o for o in TINY if not o.startswith("trainer.max_epochs")]
    proc = run_cli(
        str(ROOT / "train.py"),
        "-m",
        *cheap,
        *text_overrides(text_files, "jsonl"),
        "trainer.max_epochs=3",
        "logger=csv",
        "optim.lr=3e-3,1e-2",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (sweep,) = (tmp_path / "logs" / "multiruns").iterdir()
    records = [json.loads(p.read_text()) for p in sorted(sweep.glob("*/results.json"))]
    assert len(records) == 2
    for record in records:
        check_record(record, 3)
        check_against_predictions(record, Path(record["paths"]["run_dir"]))
    with (sweep / "comparison" / "leaderboard.csv").open() as f:
        board = list(csv.DictReader(f))
    assert len(board) == 2 and sum(r["selected"] == "True" for r in board) == 1
    assert any("map" in column for column in board[0])
    assert "bakeoff leaderboard" in proc.stdout

    from bakeoff.results.comparison import main as compare_main

    out = tmp_path / "compared"
    assert compare_main([str(sweep), "--out", str(out)]) == 0
    assert (out / "leaderboard.md").is_file()

    best = records[0]
    proc = run_cli(
        str(ROOT / "eval.py"),
        f"ckpt_path={best['paths']['best_ckpt']}",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (eval_dir,) = (tmp_path / "logs" / "runs").iterdir()
    evaluated = json.loads((eval_dir / "results.json").read_text())
    assert evaluated["metrics"]["test"] == pytest.approx(best["metrics"]["test"], abs=1e-6)

    inputs = tmp_path / "new.jsonl"
    inputs.write_text('{"text": "cherry and banana"}\n{"text": "nothing here"}\n')
    out = tmp_path / "pred.csv"
    proc = run_cli(
        "-m",
        "bakeoff.app.cli",
        "predict",
        f"ckpt_path={best['paths']['best_ckpt']}",
        f"input={inputs}",
        f"output={out}",
        f"paths.log_dir={tmp_path}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["input"] for r in rows] == ["cherry and banana", "nothing here"]
    assert all(set(json.loads(r["pred"])) <= set(FRUITS) for r in rows)


@pytest.mark.slow
def test_image_run_on_mobilenetv2_from_the_cli(tmp_path, image_files):
    proc = run_cli(
        str(ROOT / "train.py"),
        "model=mobilenetv2",
        "data=image_table",
        f"data.source.train={image_files['train']}",
        f"data.source.test={image_files['test']}",
        f"data.source.label_column=[{','.join(COLOURS)}]",
        "data.image_size=64",
        "data.batch_size=16",
        "trainer.max_epochs=1",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "callbacks.progress_bar=null",
        "logger=csv",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run_dir,) = (tmp_path / "logs" / "runs").iterdir()
    record = json.loads((run_dir / "results.json").read_text())
    check_record(record, 3)
    assert record["data"]["label_names"] == list(COLOURS)
    assert record["data"]["n_test"] == 16
    check_against_predictions(record, run_dir)

    out = tmp_path / "pred.csv"
    proc = run_cli(
        "-m",
        "bakeoff.app.cli",
        "predict",
        f"ckpt_path={record['paths']['best_ckpt']}",
        f"input={image_files['test'].parent / 'img'}",
        f"output={out}",
        f"paths.log_dir={tmp_path}",
        "accelerator=cpu",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 64 and list(rows[0])[:3] == ["id", "input", "pred"]
    assert all(set(json.loads(r["pred"])) <= set(COLOURS) for r in rows)
