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


def eval_cfg(tmp_path, record, *overrides):
    """eval.py's config for the trained run's best checkpoint."""
    return compose(
        tmp_path, f"ckpt_path={record['paths']['best_ckpt']}", *overrides, config_name="eval"
    )


def test_eval_reproduces_the_runs_test_metrics(trained, tmp_path):
    _, record = trained
    cfg = eval_cfg(tmp_path, record, "trainer.accelerator=cpu", "trainer.enable_progress_bar=false")
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
    cfg = eval_cfg(tmp_path, record, "data=trump_tweets")
    with pytest.raises(
        ConfigError, match=r"^ckpt task classification vs data=trump_tweets regression"
    ):
        evaluate(cfg)


def test_eval_on_labels_the_checkpoint_never_learnt_names_both(trained, tmp_path):
    from bakeoff.errors import ConfigError

    _, record = trained
    table = tmp_path / "other.csv"
    table.write_text("text,label\ngood tea,good\nbad tea,bad\nfine,great\n")
    cfg = eval_cfg(
        tmp_path, record, "data=csv", f"data.source.train={table}", f"data.source.test={table}"
    )
    known = ", ".join(record["data"]["label_names"])
    with pytest.raises(ConfigError) as err:
        evaluate(cfg)
    assert str(err.value).startswith(
        f"ckpt labels [{known}] vs data=csv test labels [bad, good] that the checkpoint "
        "does not know"
    )


def predict_cfg(tmp_path, record, *overrides):
    return compose(
        tmp_path,
        f"ckpt_path={record['paths']['best_ckpt']}",
        f"output={tmp_path / 'pred.csv'}",
        "accelerator=cpu",
        *overrides,
        config_name="predict",
    )


def test_predict_reads_a_txt_file_one_example_per_line(trained, tmp_path):
    from bakeoff.runs.predict import predict

    _, record = trained
    inputs = tmp_path / "new.txt"
    inputs.write_text("Tasty, would buy again\n\nstale and bland\n")
    out = predict(predict_cfg(tmp_path, record, f"input={inputs}"))
    rows = list(csv.DictReader(out.open()))
    assert [r["input"] for r in rows] == ["Tasty, would buy again", "stale and bland"]


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (None, "input: no file"),
        ("review\nfine\n", "input_column='nope' is not a column"),
        ("\n\n", "has no non-blank line"),
    ],
)
def test_predict_input_errors_come_before_the_weights_load(
    trained, tmp_path, monkeypatch, write, message
):
    from bakeoff.errors import DataError
    from bakeoff.runs import assembly, predict

    def no_weights(*args, **kwargs):
        raise AssertionError("the weights loaded before the input was checked")

    monkeypatch.setattr(assembly, "build_run_parts", no_weights)  # where the checkpoint loads
    _, record = trained
    path = tmp_path / ("new.csv" if write and "review" in write else "new.txt")
    if write is not None:
        path.write_text(write)
    cfg = predict_cfg(tmp_path, record, f"input={path}", "input_column=nope")
    with pytest.raises(DataError, match=message):
        predict.predict(cfg)


def test_eval_changes_one_data_key_without_naming_the_data(trained, tmp_path):
    """`eval.py ckpt_path=... data.eval_batch_size=7`: a change to the checkpoint's own data."""
    from bakeoff.app.setup import partial_data_overrides

    _, record = trained
    args = partial_data_overrides(
        [f"ckpt_path={record['paths']['best_ckpt']}", "data.eval_batch_size=7"]
    )
    assert args[1] == "+data.eval_batch_size=7"
    assert (
        partial_data_overrides(["data=csv", "data.eval_batch_size=7"])[1]
        == "data.eval_batch_size=7"
    )
    cfg = compose(tmp_path, *args, "trainer.accelerator=cpu", config_name="eval")
    result = evaluate(cfg)
    assert result["status"] == "completed"
    assert result["config"]["data"]["eval_batch_size"] == 7
    assert result["config"]["data"]["name"] == record["config"]["data"]["name"]
    assert result["metrics"]["test"] == pytest.approx(record["metrics"]["test"], abs=1e-5)
