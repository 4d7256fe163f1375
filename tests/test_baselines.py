"""Classical text baselines (model=tfidf_lr, model=majority) through the one run path, the
random-init backbone option, and the pretraining_helps arms.

The baselines' numbers are checked against what they must be: the majority class's share of the
test split, and a direct scikit-learn fit on the same split.
"""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np
import pytest
import torch

from bakeoff.errors import ConfigError
from bakeoff.runs.train import run
from tests.helpers.records import REQUIRED, check_schema
from tests.helpers.runs import CONF, ROOT, compose

QUIET = ["logger=csv", "trainer.enable_progress_bar=false", "callbacks.progress_bar=null"]
# A classical run fills in what a fine-tuned one does, except what it has none of: a checkpoint,
# a token cache, and (with logger=csv) a W&B run id.
NOT_APPLICABLE = ("best_ckpt", "cached_splits", "run_id")
REQUIRED_HERE = {
    section: [k for k in keys if k not in NOT_APPLICABLE] for section, keys in REQUIRED.items()
}


def read_predictions(path) -> list[dict[str, str]]:
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def majority(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("majority")
    cfg = compose(tmp, "model=majority", *QUIET)
    return cfg, run(cfg)


@pytest.fixture(scope="module")
def tfidf(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tfidf")
    cfg = compose(tmp, "model=tfidf_lr", "data.limit_train=800", *QUIET)
    return cfg, run(cfg)


def test_majority_accuracy_is_the_majority_class_share_of_the_test_split(majority):
    from bakeoff.utils.build import build

    cfg, record = majority
    raw = build(cfg.data.source).load()  # the data as the source gives it, before any split
    majority_class = Counter(map(str, raw["train"].labels)).most_common(1)[0][0]
    test_labels = [str(v) for v in raw["test"].labels]
    share = test_labels.count(majority_class) / len(test_labels)
    assert record["status"] == "completed"
    assert record["metrics"]["test"]["acc"] == pytest.approx(share, abs=1e-6)
    assert 0.6 < share < 0.7  # amazon_reviews: "great" is about two thirds
    rows = read_predictions(f"{record['paths']['run_dir']}/{record['paths']['predictions']}")
    assert len(rows) == record["data"]["n_test"] == len(test_labels)
    assert {r["pred"] for r in rows} == {majority_class}
    assert [r["label"] for r in rows] == test_labels  # in the test split's order
    assert [int(r["score"]) for r in rows] == [int(r["label"] == majority_class) for r in rows]


def test_majority_record_is_a_full_record(majority):
    _, record = majority
    no_flops = [k for k in REQUIRED_HERE["model"] if k != "flops_per_sample"]
    check_schema(record, REQUIRED_HERE | {"model": no_flops})
    assert (
        record["model"] | {"name": "majority", "source": "sklearn", "params_total": 2}
        == (record["model"])
    )
    assert record["model"]["flops_per_sample"] is None  # a constant prediction: no arithmetic
    assert record["paths"]["best_ckpt"] is None
    # validation selects nothing (one fit) but is recorded, and is what the monitor reads
    assert [h["epoch"] for h in record["history"]] == [0]
    assert record["monitor"]["best"] == record["metrics"]["val"]["f1_macro"]
    assert record["monitor"]["best_epoch"] == 0
    assert record["metrics"]["val"]["recall_macro"] == pytest.approx(0.5)  # one class predicted


def test_tfidf_lr_matches_a_direct_scikit_learn_fit_on_the_same_split(tfidf):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score
    from sklearn.pipeline import make_pipeline

    from bakeoff.runs.assembly import build_run_parts
    from bakeoff.utils.build import build

    cfg, record = tfidf
    data = build_run_parts(cfg, model=False).datamodule  # the baseline's own data, set up
    train, test = data.datasets["train"], data.datasets["test"]
    assert len(train) == record["data"]["n_train"] == 800
    direct = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(C=10.0, max_iter=1000, random_state=0),
    ).fit(train.texts, train.targets)
    probs = direct.predict_proba(test.texts)
    pred, y = probs.argmax(1), np.asarray(test.targets)

    # the configured estimator is that fit
    ours = build(cfg.model.estimator).fit(train.texts, train.targets, data.num_classes, seed=0)
    assert np.abs(ours.predict_proba(test.texts) - probs).max() < 1e-9
    lr = direct[-1]
    assert record["model"]["params_total"] == lr.coef_.size + lr.intercept_.size

    # the run's record and predictions file say what that fit predicts
    test_metrics = record["metrics"]["test"]
    assert test_metrics["loss"] == pytest.approx(log_loss(y, probs), abs=1e-9)
    for name, value in {
        "acc": accuracy_score(y, pred),
        "f1_macro": f1_score(y, pred, average="macro"),
        "precision_macro": precision_score(y, pred, average="macro"),
        "recall_macro": recall_score(y, pred, average="macro"),
    }.items():  # the task's torchmetrics report float32
        assert test_metrics[name] == pytest.approx(value, abs=1e-6), name
    rows = read_predictions(f"{record['paths']['run_dir']}/{record['paths']['predictions']}")
    assert [r["pred"] for r in rows] == [data.label_names[i] for i in pred]
    assert np.allclose([float(r["prob_great"]) for r in rows], probs[:, 0], rtol=1e-5)
    assert 0.7 < test_metrics["acc"] < 0.9  # far above the majority share (0.658)


def test_tfidf_lr_record(tfidf):
    _, record = tfidf
    check_schema(record, REQUIRED_HERE)
    assert record["monitor"]["best"] == record["metrics"]["val"]["f1_macro"]
    assert record["model"]["flops_per_sample"] > 0  # the linear layer on the sparse features
    assert record["finetune"]["strategy"] is None
    history = record["history"][0]
    assert history["train/acc"] > history["val/acc"]  # scored on its own training data too


def test_baseline_on_image_data_names_the_data(tmp_path):
    cfg = compose(tmp_path, "model=tfidf_lr", "data=fashion_mnist", *QUIET)
    with pytest.raises(
        ConfigError, match="model=tfidf_lr is a text classifier; data=fashion_mnist"
    ):
        run(cfg)


def test_baseline_monitor_must_be_a_recorded_metric(tmp_path):
    cfg = compose(tmp_path, "model=majority", "monitor.metric=val/mcc", *QUIET)
    with pytest.raises(ConfigError, match=r"monitor.metric=val/mcc is not recorded; choose from"):
        run(cfg)


def test_minilm_random_init_is_the_same_architecture_without_the_weights(tmp_path):
    from bakeoff.utils.build import build

    torch.manual_seed(0)
    cfg = compose(tmp_path, "model=minilm")
    pretrained = build(cfg.model.backbone).state_dict()
    random = build(cfg.model.backbone, pretrained=False).state_dict()
    assert {k: v.shape for k, v in random.items()} == {k: v.shape for k, v in pretrained.items()}
    weights = [k for k in pretrained if k.endswith("query.weight")]
    assert weights and all(not torch.equal(random[k], pretrained[k]) for k in weights)


ARMS = {
    "minilm": ("amazon_reviews", "minilm", "full", True),
    "minilm_random_init": ("amazon_reviews", "minilm", "full", False),
    "minilm_probe": ("amazon_reviews", "minilm", "linear_probe", True),
    "tfidf_lr": ("amazon_reviews", "tfidf_lr", "full", None),
    "majority": ("amazon_reviews", "majority", "full", None),
    "mobilenetv2": ("fashion_mnist", "mobilenetv2", "full", True),
    "mobilenetv2_random_init": ("fashion_mnist", "mobilenetv2", "full", False),
    "mobilenetv2_probe": ("fashion_mnist", "mobilenetv2", "linear_probe", True),
}


def test_pretraining_helps_sweeps_every_arm_and_each_composes(tmp_path):
    import yaml

    experiment = yaml.safe_load((CONF / "experiment" / "pretraining_helps.yaml").read_text())
    params = experiment["hydra"]["sweeper"]["params"]
    assert params["+experiment/pretraining_helps"].split(",") == list(ARMS)
    assert params["seed"] == "1,2,3"
    for arm, (data, model, finetune, pretrained) in ARMS.items():
        cfg = compose(
            tmp_path, "experiment=pretraining_helps", f"+experiment/pretraining_helps={arm}"
        )
        assert (cfg.data.name, cfg.model.name, cfg.finetune.name) == (data, model, finetune), arm
        backbone = cfg.model.backbone or {}
        assert backbone.get("pretrained") == pretrained, arm
        assert cfg.data.limit_train == (400 if data == "amazon_reviews" else 500), arm


@pytest.mark.slow
def test_a_text_sweep_ranks_baselines_beside_a_model_with_significance(tmp_path):
    """Acceptance 6: one sweep, one leaderboard with all three, p-values against the selected."""
    from tests.helpers.sweeps import leaderboard, multirun, records

    proc, sweep = multirun(
        tmp_path,
        "model=tiny_bert,tfidf_lr,majority",
        "data.limit_train=200",
        "data.limit_val=64",
        "data.limit_test=100",
        "data.max_length=32",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "callbacks.progress_bar=null",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = records(sweep).values()
    assert {r["model"]["name"] for r in jobs} == {"tiny_bert", "tfidf_lr", "majority"}
    assert all(r["run_id"] for r in jobs)  # every job logged to its W&B run (the default logger)
    rows = leaderboard(sweep)
    assert sorted(rows) == ["model=majority", "model=tfidf_lr", "model=tiny_bert"]
    selected = [c for c, r in rows.items() if r["selected"] == "True"]
    assert len(selected) == 1
    for config, row in rows.items():
        if config in selected:
            assert row["vs_best"] == "selected"
            continue
        assert 0.0 <= float(row["p_bootstrap"]) <= 1.0, config
        assert 0.0 <= float(row["p_mcnemar"]) <= 1.0, config
        assert int(row["n_examples"]) == 100, config
    assert "model=tfidf_lr" in proc.stdout and "model=majority" in proc.stdout


def test_reproduce_script_dry_run_lists_every_job():
    import subprocess

    script = str(ROOT / "scripts" / "reproduce_pretraining_helps.sh")

    def dry_run(*overrides: str) -> list[str]:
        out = subprocess.run(
            ["bash", script, "--dry-run", *overrides], capture_output=True, text=True, check=True
        ).stdout
        return [line for line in out.splitlines() if line.startswith("job ")]

    jobs = dry_run()
    assert len(jobs) == len(ARMS) * 3
    for arm in ARMS:
        for seed in (1, 2, 3):
            job = f"seed={seed} +experiment/pretraining_helps={arm}"
            assert sum(line.endswith(job) for line in jobs) == 1
    # a command-line axis replaces the file's; other overrides go to every job
    jobs = dry_run("seed=7", "trainer.max_epochs=1")
    assert len(jobs) == len(ARMS)
    assert all(line.startswith("job ") and "seed=7 " in line for line in jobs)
    assert all(line.endswith(" trainer.max_epochs=1") for line in jobs)
