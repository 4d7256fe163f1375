"""Bad input ends in one clear message naming the cause, and a failed record on disk."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf.errors import ConfigKeyError, ValidationError

from bakeoff.errors import DataError, ModelNotAvailableError
from bakeoff.record.store import read_record
from bakeoff.runs.train import run
from tests.helpers.runs import ROOT, compose, run_cli


def test_default_config_composes_with_the_documented_groups(tmp_path):
    cfg = compose(tmp_path)
    assert cfg.model.name == "minilm" and cfg.model.backbone.pooling == "mean"
    assert cfg.data.name == "amazon_reviews" and cfg.finetune.name == "full"
    assert cfg.monitor.metric == "val/f1_macro"
    assert cfg.callbacks.model_checkpoint.monitor == "val/f1_macro"


def test_unknown_model_lists_the_choices(tmp_path):
    with pytest.raises(MissingConfigException) as err:
        compose(tmp_path, "model=bertt")
    message = str(err.value)
    assert "Could not find 'model/bertt'" in message
    for choice in ("bert", "minilm", "tiny_bert", "roberta", "mobilenetv2"):
        assert f"\t{choice}\n" in message + "\n"


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("trainer.max_epoch=3", "Key 'max_epoch' not in 'TrainerConfig'"),
        ("finetune.layer_decy=0.5", "Key 'layer_decy' not in 'FinetuneConfig'"),
        ("sed=1", "Key 'sed' not in 'TrainConfig'"),
    ],
)
def test_misspelled_key_is_named(tmp_path, override, needle):
    with pytest.raises((ConfigCompositionException, ConfigKeyError)) as err:
        compose(tmp_path, override)
    assert needle in str(err.value) or needle in str(err.value.__cause__)


@pytest.mark.parametrize(
    ("override", "key"),
    [("trainer.max_epochs=abc", "max_epochs"), ("data.batch_size=big", "batch_size")],
)
def test_wrong_type_is_named(tmp_path, override, key):
    with pytest.raises((ConfigCompositionException, ValidationError)) as err:
        compose(tmp_path, override)
    text = str(err.value) + str(err.value.__cause__)
    assert "could not be converted to Integer" in text and key in text


def csv_cfg(tmp_path, **sources):
    args = [f"data.source.{k}={v}" for k, v in sources.items()]
    return compose(tmp_path, "data=csv", "model=tiny_bert", "logger=csv", *args)


def test_missing_data_file_names_the_path_and_leaves_a_failed_record(tmp_path):
    cfg = csv_cfg(tmp_path, train=tmp_path / "nope.csv", test=tmp_path / "nope.csv")
    with pytest.raises(DataError, match=r"data.source.train: file not found: .*nope.csv"):
        run(cfg)
    record = read_record(tmp_path / "run")
    assert record["status"] == "failed" and "nope.csv" in record["error"]
    assert record["config"]["data"]["source"]["train"].endswith("nope.csv")


def test_text_column_not_in_file_lists_the_columns(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("sentence,label\ngood,pos\nbad,neg\n")
    cfg = csv_cfg(tmp_path, train=path, test=path)
    with pytest.raises(DataError) as err:
        run(cfg)
    assert "data.source.text_column='text'" in str(err.value)
    assert "its columns are: sentence, label" in str(err.value)


def test_uncached_hub_model_offline_names_the_offline_choices(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = compose(tmp_path, "model=bert", "logger=csv")
    with pytest.raises(ModelNotAvailableError) as err:
        run(cfg)
    assert "bert-base-uncased" in str(err.value)
    assert "model=minilm" in str(err.value) and "model=tiny_bert" in str(err.value)


def test_cli_reports_user_errors_in_one_line_without_traceback(tmp_path):
    missing = tmp_path / "missing.csv"
    proc = run_cli(
        str(ROOT / "train.py"),
        "data=csv",
        f"data.source.train={missing}",
        f"data.source.test={missing}",
        "model=tiny_bert",
        "logger=csv",
        f"paths.log_dir={tmp_path}",
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert f"error: data.source.train: file not found: {missing}" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_cli(str(ROOT / "train.py"), "model=nope", f"paths.log_dir={tmp_path}", cwd=tmp_path)
    assert proc.returncode == 1 and "Available options in 'model'" in proc.stderr
    assert "Traceback" not in proc.stderr
