"""Cross-validation for model selection: `data.folds=k data.fold=0..k-1` (acceptance 5).

The folds partition the train+val pool (stratified), the test split is never touched, and the
comparison averages over folds: one row per configuration with n=k. The runs are in-process
(what `python train.py -m model=tiny_bert data.folds=3 data.fold=0,1,2` runs per job; the CLI
and Hydra's multirun are covered by test_multirun.py).
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from omegaconf import open_dict

from bakeoff.data.splits import split_indices
from bakeoff.errors import ConfigError
from bakeoff.runs.train import run
from tests.helpers.runs import TINY, compose

K = 3
FOLD_RUN = [*TINY, "trainer.max_epochs=1", "data.max_length=32", "logger=csv", f"data.folds={K}"]


def kfold(labels: np.ndarray, k: int = K, **kwargs) -> list:
    return [
        split_indices(labels, None, 0.1, split_seed=0, folds=k, fold=i, **kwargs) for i in range(k)
    ]


# ------------------------------------------------------------------ index sets (no training)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_folds_partition_the_pool_without_leakage(k):
    rng = np.random.default_rng(0)
    labels = rng.choice(3, size=301, p=[0.6, 0.3, 0.1])  # imbalanced, not divisible by k
    pool = set(range(len(labels)))
    folds = kfold(labels, k)
    for f in folds:
        assert not f.val_given
        assert not set(f.train) & set(f.val)  # no example both trained on and validated on
        assert set(f.train) | set(f.val) == pool  # the fold uses the whole pool
        # stratified: every class is in each val fold in proportion (±1 example)
        expected = {c: n / k for c, n in Counter(labels).items()}
        got = Counter(labels[f.val])
        assert all(abs(got[c] - expected[c]) <= 1 for c in expected)
    vals = [set(f.val) for f in folds]
    assert sum(len(v) for v in vals) == len(pool)  # pairwise disjoint ...
    assert set().union(*vals) == pool  # ... and covering the pool


def test_limits_subsample_within_a_fold_and_the_split_ignores_the_run_seed():
    labels = np.arange(300) % 2
    full, limited = kfold(labels), kfold(labels, limit_train=50, limit_val=20)
    for f, lim in zip(full, limited, strict=True):
        assert set(lim.train) <= set(f.train) and len(lim.train) == 50
        assert set(lim.val) <= set(f.val) and len(lim.val) == 20
    # the split depends on labels and split_seed only: every seed/backbone sees the same folds
    again = kfold(labels, limit_train=50, limit_val=20)
    assert all(np.array_equal(a.val, b.val) for a, b in zip(limited, again, strict=True))


def test_fold_out_of_range_or_without_folds_is_a_config_error():
    labels = np.arange(30) % 2
    with pytest.raises(ConfigError, match="data.fold must be in 0..2"):
        split_indices(labels, None, 0.1, 0, folds=3, fold=3)
    with pytest.raises(ConfigError, match="data.folds"):
        split_indices(labels, None, 0.1, 0, folds=None, fold=1)


def test_datamodule_folds_on_amazon_reviews(tmp_path):
    """The DataModule a run builds: folds over the 4000 train reviews, test set untouched."""
    from bakeoff.runs.assembly import build_data
    from bakeoff.utils.build import build

    datamodules, preprocessing = [], None
    for fold in range(K):
        cfg = compose(tmp_path, *TINY, f"data.folds={K}", f"data.fold={fold}")
        preprocessing = preprocessing or build(cfg.model.backbone).preprocessing()
        dm = build_data(cfg, preprocessing)
        dm.setup("fit")
        datamodules.append(dm)
    raw = datamodules[0].source.load()
    to_id = {name: i for i, name in enumerate(datamodules[0].label_names)}
    labels = np.array([to_id[str(v)] for v in raw["train"].labels])
    pool = set(range(len(labels)))
    whole = kfold(labels)  # the folds before TINY's limits (64 train, 32 val)
    assert (
        sum(len(f.val) for f in whole) == len(pool)
        and set().union(*map(set, (f.val for f in whole))) == pool
    )
    for dm, f in zip(datamodules, whole, strict=True):
        idx = dm.split_indices
        assert not idx.val_given
        assert not set(idx.train) & set(idx.val)
        assert set(idx.train) <= set(f.train) and set(idx.val) <= set(f.val)
        assert (
            (len(idx.train), len(idx.val))
            == (64, 32)
            == (dm.sizes()["n_train"], dm.sizes()["n_val"])
        )
    vals = [set(dm.split_indices.val) for dm in datamodules]
    assert not (vals[0] & vals[1] or vals[0] & vals[2] or vals[1] & vals[2])
    # the test split: same examples, same order, in every fold (48 = TINY's data.limit_test)
    tests = [dm.datasets["test"] for dm in datamodules]
    assert all(len(t) == 48 for t in tests)
    first = [tests[0][i] for i in range(48)]
    for t in tests[1:]:
        assert [t[i] for i in range(48)] == first


# ------------------------------------------------------------------ a k-fold sweep, compared


@pytest.fixture(scope="module")
def fold_runs(tmp_path_factory):
    """Three jobs `model=tiny_bert data.folds=3 data.fold=i`; one job dir each, like a sweep."""
    tmp = tmp_path_factory.mktemp("kfold")
    sweep = tmp / "sweep"
    for fold in range(K):
        cfg = compose(tmp, *FOLD_RUN, f"data.fold={fold}")
        with open_dict(cfg):
            cfg.paths.output_dir = str(sweep / str(fold))  # not an override: labels stay equal
        run(cfg)
    return sweep


def read(sweep: Path) -> dict[int, dict]:
    return {int(p.parent.name): json.loads(p.read_text()) for p in sweep.glob("*/results.json")}


def test_kfold_records_carry_their_fold(fold_runs):
    recs = read(fold_runs)
    assert sorted(recs) == list(range(K))
    for fold, rec in recs.items():
        assert rec["status"] == "completed"
        assert rec["fold"] == fold
        assert rec["config"]["data"]["folds"] == K and rec["config"]["data"]["fold"] == fold
        assert f"data.fold={fold}" in rec["overrides"]
    # limits apply within the fold: same sizes, same test set for every fold
    assert {
        (r["data"]["n_train"], r["data"]["n_val"], r["data"]["n_test"]) for r in recs.values()
    } == {(64, 32, 48)}


def test_kfold_gives_one_row_with_n_equal_to_k(fold_runs):
    from bakeoff.results import compare

    result = compare(fold_runs, plots=False, formats=["md", "csv"])
    assert len(result.table) == 1
    row = result.table.iloc[0]
    assert row["n"] == K and row["status"] == f"{K} ok"
    assert result.best == row["config"]
    assert "data.folds=3" in row["config"].split()
    assert not [o for o in row["config"].split() if o.startswith("data.fold=")]  # a repeat
    recs = read(fold_runs).values()
    vals = [r["metrics"]["val"]["f1_macro"] for r in recs]
    assert row["val/f1_macro_mean"] == pytest.approx(statistics.mean(vals), rel=1e-12)
    assert row["val/f1_macro_std"] == pytest.approx(statistics.stdev(vals), rel=1e-12)
    runs = result.runs.sort_values("fold")
    assert list(runs["fold"]) == list(range(K))


def test_edited_record_is_what_the_leaderboard_shows(fold_runs, tmp_path):
    """Acceptance 6 on the fold runs: the table reads results.json, nothing else."""
    import shutil

    from bakeoff.results import compare

    sweep = tmp_path / "sweep"
    shutil.copytree(fold_runs, sweep)
    path = sweep / "1" / "results.json"
    rec = json.loads(path.read_text())
    rec["metrics"]["test"]["acc"] = 0.123
    rec["timing"]["fit_s"] = 1000.0
    path.write_text(json.dumps(rec))
    others = [r for f, r in read(sweep).items() if f != 1]
    row = compare(sweep, plots=False, formats=["md"]).table.iloc[0]
    accs = [0.123] + [r["metrics"]["test"]["acc"] for r in others]
    assert row["test/acc_mean"] == pytest.approx(statistics.mean(accs), rel=1e-12)
    assert row["fit_s"] == pytest.approx(
        statistics.mean([1000.0] + [r["timing"]["fit_s"] for r in others])
    )
    md = (sweep / "comparison" / "leaderboard.md").read_text()
    assert f"{statistics.mean(accs):.3f} ± {statistics.stdev(accs):.3f}" in md


def test_end_of_sweep_callback_without_wandb(fold_runs, tmp_path, capsys):
    """The fold jobs logged to CSV only: the callback compares, prints, and starts no W&B run;
    a job that did not complete makes it exit 1 naming that job."""
    import shutil

    from omegaconf import OmegaConf

    from bakeoff.results.callback import CompareOnMultirunEnd

    sweep = tmp_path / "sweep"
    shutil.copytree(fold_runs, sweep)
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}})
    CompareOnMultirunEnd(plots=False).on_multirun_end(config)
    out = capsys.readouterr().out
    assert "bakeoff leaderboard" in out and "Jobs: 3 completed." in out
    assert (sweep / "comparison" / "leaderboard.md").is_file()
    assert not (sweep / "wandb").exists()

    path = sweep / "2" / "results.json"
    rec = json.loads(path.read_text())
    rec.update(status="failed", error="RuntimeError: boom\nsecond line")
    path.write_text(json.dumps(rec))
    (sweep / "3" / ".hydra").mkdir(parents=True)  # a job killed before writing its record
    (sweep / "3" / ".hydra" / "overrides.yaml").write_text("- data.fold=9\n")
    with pytest.raises(SystemExit) as exit_info:
        CompareOnMultirunEnd(plots=False).on_multirun_end(config)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "2 job(s) failed" in err
    assert f"job 2 [{rec['name']}]: RuntimeError: boom\n" in err
    assert "job 3 [data.fold=9]: no results.json" in err
