"""bakeoff-rank end to end on two tiny backbones: table, plot, record, W&B run, the feature cache
(a second call runs no backbone forward), --against, screen(), and one-line errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.helpers.comparisons import metrics, write_run

SMALL = [
    "data.limit_train=64",
    "data.limit_val=40",
    "data.max_length=32",
    "rank.knn_k=5",
    "trainer.accelerator=cpu",
    "rank.device=cpu",
]


@pytest.fixture
def forwards(monkeypatch):
    """Counts backbone forward calls (every HF backbone, whatever calls it)."""
    from bakeoff.models.hf_backbone import HFBackbone

    calls = {"n": 0}
    original = HFBackbone.forward

    def counted(self, *args, **kwargs):
        calls["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(HFBackbone, "forward", counted)
    return calls


def rank(tmp_path: Path, out: str, *args: str) -> int:
    from bakeoff.app.rank import main

    return main(
        [
            "model=tiny_bert,tiny_roberta",
            *SMALL,
            f"paths.root_dir={tmp_path}",
            f"rank.output_dir={tmp_path / out}",
            *args,
        ]
    )


def wandb_run(root: Path, wait_s: float = 20.0):
    """The offline runs under root, once each is whole (its exit record written): wandb's writer
    process may still be flushing the file for a moment after `finish()` returns here."""
    import time

    from tests.helpers.wandb_files import offline_runs

    deadline = time.monotonic() + wait_s
    while True:
        try:
            runs = offline_runs(root)
            if runs and all(r.exit_code is not None for r in runs):
                return runs
        except AssertionError:  # not even the run record yet
            pass
        if time.monotonic() > deadline:
            return offline_runs(root)
        time.sleep(0.5)


def tiny_sweep(root: Path) -> Path:
    """A finished comparison's records: tiny_roberta best on val and test."""
    for job, (model, seed, f1) in enumerate(
        [("tiny_bert", 1, 0.60), ("tiny_bert", 2, 0.62), ("tiny_roberta", 1, 0.70)]
    ):
        write_run(
            root,
            str(job),
            [f"model={model}", f"seed={seed}"],
            val=metrics(f1),
            test=metrics(f1 - 0.05),
        )
    return root


def test_rank_two_tiny_backbones_then_from_the_cache(tmp_path, forwards, capsys):
    assert rank(tmp_path, "first") == 0
    first = forwards["n"]
    assert first > 0
    out = tmp_path / "first"
    record = json.loads((out / "rank.json").read_text())
    rows = record["ranking"]
    assert [r["rank"] for r in rows] == [1, 2]
    assert {r["model"] for r in rows} == {"tiny_bert", "tiny_roberta"}
    assert rows[0]["logme"] >= rows[1]["logme"]  # sorted by LogME
    for r in rows:
        assert r["features"] == "computed" and r["forward_s"] > 0
        assert r["n_train"] == 64 and r["n_val"] == 40
        assert 0 <= r["knn_f1_macro"] <= 1 and 0 <= r["probe_f1_macro"] <= 1
        assert math.isfinite(r["logme"]) and r["params"] > 0 and r["flops_per_sample"] > 0
    assert (out / "rank.csv").read_text().startswith("rank,model,logme,knn_f1_macro,probe_f1_macro")
    assert "| rank | model | logme |" in (out / "rank.md").read_text()
    assert (out / "rank_vs_params.png").stat().st_size > 10_000
    (run,) = wandb_run(out)
    assert run.job_type == "rank" and run.group == "rank-first"
    assert json.loads(run.summary["top"]) == rows[0]["model"]

    # again, with a finished comparison to score against: features and FLOPs from the cache
    sweep = tiny_sweep(tmp_path / "sweep")
    capsys.readouterr()
    assert rank(tmp_path, "second", "--against", str(sweep)) == 0
    assert forwards["n"] == first  # no backbone forward this time
    again = json.loads((tmp_path / "second" / "rank.json").read_text())["ranking"]
    assert [r["features"] for r in again] == ["read", "read"]
    assert [r["forward_s"] for r in again] == [0, 0]
    for a, b in zip(rows, again, strict=True):
        assert a["model"] == b["model"] and a["logme"] == pytest.approx(b["logme"])
        assert a["flops_per_sample"] == b["flops_per_sample"]
    table = (tmp_path / "second" / "against.csv").read_text().splitlines()
    assert len(table) == 1 + 3  # one row per score, target "best config per backbone"
    printed = capsys.readouterr().out
    assert f"read records under {sweep}" in printed
    assert "only 2 backbones: τ over 2 is weak evidence" in printed

    # the first ranking, from its record, against the same comparison: the same table, no build
    from bakeoff.app.rank import main

    assert main(["--ranking", str(out / "rank.json"), "--against", str(sweep)]) == 0
    assert forwards["n"] == first
    assert (out / "against.csv").read_text() == "\n".join(table) + "\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["model=tiny_bert,nope"], "unknown backbone ['nope']; model= choices:"),
        (["model=tiny_bert,mobilenetv2"], "mobilenetv2 is an image model, but data=amazon_reviews"),
        (["model=tiny_bert", "rank.knn_k=500"], "fewer than the kNN's rank.knn_k=500"),
        (["model=tiny_bert", "data=trump_tweets,amazon_reviews"], "only model= takes a list"),
        (["model=tfidf_lr"], "scikit-learn baseline with no backbone"),
        (["model=tiny_bert", "task=multilabel"], "task=multilabel is not supported"),
        (["model=tiny_bert", "rank.sort_by=loss"], "rank.sort_by: 'loss' is not one of"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, args, expected):
    from bakeoff.app.rank import main

    code = main([*SMALL, f"paths.root_dir={tmp_path}", f"rank.output_dir={tmp_path}/o", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and expected in err and "\n" not in err


def test_screen_keeps_the_top_backbones_with_their_configurations(tmp_path):
    """What a sweeper holds: train configs (no `rank` node): conf/rank.yaml's defaults apply."""
    from bakeoff.app.compose import compose
    from bakeoff.rank import screen

    small = [o for o in SMALL if not o.startswith("rank.")]

    def cfg(*o):
        return compose([*small, f"paths.root_dir={tmp_path}", *o], output_dir=tmp_path / "run")

    configs = [
        cfg("model=tiny_bert"),
        cfg("model=tiny_roberta"),
        cfg("model=tiny_bert", "optim.lr=1e-3"),
    ]
    result = screen(configs, score="probe", top_k=1)
    assert sorted(result.kept + result.dropped) == [0, 1, 2]
    assert result.scores[0] == result.scores[2]  # one backbone, one score
    best = max(range(3), key=lambda i: result.scores[i])
    assert best in result.kept
    assert set(result.kept) in ({0, 2}, {1})  # configurations of one backbone go together
    assert len(result.ranking.table) == 2 and result.ranking.sort_by == "probe"
    assert list(result.ranking.table["probe_f1_macro"]) == sorted(set(result.scores), reverse=True)


def test_rank_regression_scores_in_its_metric(tmp_path):
    """Regression (trump_tweets): LogME on the values, kNN mean and ridge probe in val pearson."""
    from bakeoff.app.rank import main

    out = tmp_path / "reg"
    args = ["model=tiny_bert,tiny_roberta", "data=trump_tweets", *SMALL, "logger=csv"]
    assert main([*args, f"paths.root_dir={tmp_path}", f"rank.output_dir={out}"]) == 0
    record = json.loads((out / "rank.json").read_text())
    assert record["task"] == "regression" and record["metric"] == "pearson"
    for row in record["ranking"]:
        assert math.isfinite(row["logme"])
        assert -1 <= row["knn_pearson"] <= 1 and -1 <= row["probe_pearson"] <= 1
