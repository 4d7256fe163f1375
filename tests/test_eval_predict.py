"""A trained checkpoint is tested by eval.py and used by bakeoff-predict, from the checkpoint alone."""

from __future__ import annotations

import csv

import pytest

from bakeoff.record.store import read_record
from bakeoff.runs.evaluate import evaluate
from bakeoff.runs.train import run
from tests.helpers.runs import ROOT, compose, run_cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.helpers.runs import TINY

    tmp = tmp_path_factory.mktemp("trained")
    record = run(compose(tmp, *TINY, "logger=csv", "trainer.max_epochs=1"))
    return tmp, record


def test_eval_reproduces_the_runs_test_metrics(trained, tmp_path):
    _, record = trained
    cfg = compose(
        tmp_path,
        f"ckpt_path={record['paths']['best_ckpt']}",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        config_name="eval",
    )
    result = evaluate(cfg)
    assert result["status"] == "completed"
    assert result["metrics"]["test"] == pytest.approx(record["metrics"]["test"])
    assert read_record(tmp_path / "run")["data"]["n_test"] == 48
    assert (tmp_path / "run" / "test_predictions.csv").read_text() == (
        trained[0] / "run" / "test_predictions.csv"
    ).read_text()


def test_eval_of_a_missing_checkpoint_names_it(tmp_path):
    proc = run_cli(str(ROOT / "eval.py"), f"ckpt_path={tmp_path}/none.ckpt", cwd=tmp_path)
    assert proc.returncode == 1
    assert f"error: ckpt_path: checkpoint not found: {tmp_path}/none.ckpt" in proc.stderr


def test_predict_a_string_and_a_csv(trained, tmp_path):
    _, record = trained
    inputs = tmp_path / "new.csv"
    inputs.write_text('review\n"Tasty, would buy again"\nstale and bland\n')
    out = tmp_path / "pred.csv"
    proc = run_cli(
        "-m",
        "bakeoff.app.cli",
        "predict",
        f"ckpt_path={record['paths']['best_ckpt']}",
        f"input={inputs}",
        f"output={out}",
        f"paths.log_dir={tmp_path}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = list(csv.DictReader(out.open()))
    assert [r["input"] for r in rows] == ["Tasty, would buy again", "stale and bland"]
    for r in rows:
        assert r["pred"] in ("great", "other")
        probs = float(r["prob_great"]), float(r["prob_other"])
        assert sum(probs) == pytest.approx(1.0, abs=1e-5) and float(r["prob"]) == max(probs)


def test_eval_on_another_task_kind_names_both(trained, tmp_path):
    """Issue 24, item 5: a classification checkpoint on regression data, one line naming both."""
    from bakeoff.errors import ConfigError

    _, record = trained
    cfg = compose(
        tmp_path,
        f"ckpt_path={record['paths']['best_ckpt']}",
        "data=trump_tweets",
        config_name="eval",
    )
    with pytest.raises(
        ConfigError, match=r"^ckpt task classification vs data=trump_tweets regression"
    ):
        evaluate(cfg)


def test_eval_on_labels_the_checkpoint_never_learnt_names_both(trained, tmp_path):
    from bakeoff.errors import ConfigError

    _, record = trained
    table = tmp_path / "other.csv"
    table.write_text("text,label\ngood tea,good\nbad tea,bad\nfine,great\n")
    cfg = compose(
        tmp_path,
        f"ckpt_path={record['paths']['best_ckpt']}",
        "data=csv",
        f"data.source.train={table}",
        f"data.source.test={table}",
        config_name="eval",
    )
    known = ", ".join(record["data"]["label_names"])
    with pytest.raises(ConfigError) as err:
        evaluate(cfg)
    assert str(err.value).startswith(
        f"ckpt labels [{known}] vs data=csv test labels [bad, good] that the checkpoint "
        "does not know"
    )
