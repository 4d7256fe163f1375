"""The comparison on hand-made run dirs: values, selection on val, significance, files, CLI."""

import math
import re
from pathlib import Path

import pytest

from bakeoff.results import compare, load
from bakeoff.results.comparison import main
from tests.helpers.comparisons import LABELS, metrics, predictions, row, write_run


def test_mean_std_and_n_per_config(sweep):
    c = compare(sweep, formats=None, plots=False)
    a = row(c, "model=a")
    assert a["n"] == 3 and a["n_jobs"] == 4
    assert a["val/f1_macro_mean"] == pytest.approx(0.82)
    assert a["val/f1_macro_std"] == pytest.approx(0.02)
    assert a["test/acc_mean"] == pytest.approx(0.72)
    assert a["test/loss_mean"] == pytest.approx(0.28)
    assert a["params_total"] == 1000 and a["fit_s"] == 10.0
    assert row(c, "model=b")["params_total"] == 5000


def test_selection_is_on_val_never_test(sweep):
    c = compare(sweep, formats=None, plots=False)
    assert c.metric == "val/f1_macro" and c.mode == "max"
    assert c.best == "model=a"  # model=b is better on test, worse on val
    assert list(c.table["config"][:3]) == ["model=a", "model=b", "model=c"]
    assert c.table["selected"].tolist().count(True) == 1
    assert c.summary[0] == (
        "Selected on val/f1_macro (max): model=a (val 0.820 ± 0.020, n=3)"
        " → test f1_macro 0.720 ± 0.020"
    )
    assert c.display.loc[c.display["config"] == "model=a", ""].item() == "★"
    # an explicit metric and mode override the records' monitor
    low_loss = compare(sweep, metric="val/loss", mode="min", formats=None, plots=False)
    assert low_loss.best == "model=a"
    worst = compare(sweep, metric="val/acc", mode="min", formats=None, plots=False)
    assert worst.best == "model=c"


def test_significance_on_test_predictions(sweep):
    c = compare(sweep, formats=None, plots=False)
    b, same = row(c, "model=b"), row(c, "model=c")
    from sklearn.metrics import f1_score

    assert b["p_bootstrap"] < 0.05 and b["p_mcnemar"] < 0.05
    # on the selection metric, recomputed from the predictions (100 vs 180 of 200 right)
    f1 = [f1_score(LABELS, predictions(k), average="macro") for k in (100, 180)]
    assert b["delta"] == pytest.approx(f1[0] - f1[1])
    assert b["vs_best"] == "worse on test"
    assert same["p_bootstrap"] == 1.0 and same["p_mcnemar"] == 1.0
    assert same["vs_best"] == "within noise"
    assert b["statistic"] == same["statistic"] == "test/f1_macro"
    assert "Within noise of model=a" in c.summary[1] and "model=c" in c.summary[1]


def test_failed_and_running_jobs_are_kept_and_marked(sweep):
    c = compare(sweep, formats=None, plots=False)
    assert row(c, "model=a")["status"] == "3 ok, 1 failed (CUDA OOM)"
    assert row(c, "model=d")["status"] == "failed: model not available offline"
    assert row(c, "model=e")["status"] == "1 running"
    assert row(c, "model=d")["n"] == 0 and row(c, "model=e")["n"] == 0
    assert list(c.table["config"][-2:]) == ["model=d", "model=e"]  # no val value: last
    runs = c.runs
    running = runs[runs["config"] == "model=e"].iloc[0]
    assert running["status"] == "running" and running["seed"] == 1
    assert "Jobs: 7 completed, 2 failed, 1 running." in c.summary


def test_load_one_row_per_job(sweep):
    runs = load(sweep)
    assert len(runs) == 10
    for column in [
        "status",
        "config",
        "seed",
        "fold",
        "val/acc",
        "test/f1_macro",
        "params_total",
        "fit_s",
        "peak_rss_mb",
        "run_dir",
    ]:
        assert column in runs.columns, column
    a = runs[(runs["config"] == "model=a") & (runs["status"] == "completed")]
    assert sorted(a["seed"]) == [1, 2, 3]
    assert sorted(a["test/f1_macro"]) == pytest.approx([0.70, 0.72, 0.74])


def test_group_by_record_fields(sweep):
    c = compare(sweep, group_by="model.name,config.finetune.name", formats=None, plots=False)
    assert c.best == "model.name=a config.finetune.name=full"
    assert row(c, "model.name=a config.finetune.name=full")["n"] == 3


def test_shared_overrides_and_default_config(tmp_path):
    root = tmp_path / "s"
    for i, model in enumerate(["a", "b"]):
        write_run(
            root,
            str(i),
            [f"model={model}", "trainer.max_epochs=1", "seed=1"],
            metrics(0.5 + i / 10),
            metrics(0.5),
        )
    c = compare(root, formats=None, plots=False)
    assert set(c.table["config"]) == {"model=a", "model=b"}
    assert "Shared by all jobs: trainer.max_epochs=1" in c.summary
    single = tmp_path / "single"
    write_run(single, "0", ["seed=3"], metrics(0.5), metrics(0.5))
    write_run(single, "1", [], metrics(0.7), metrics(0.5))
    c = compare(single, formats=None, plots=False)
    assert c.table["config"].tolist() == ["(default)"]
    assert c.table["n"].item() == 2


def tabular_rows(tex: str) -> tuple[int, list[str]]:
    spec = re.search(r"\\begin\{tabular\}\{([lrc|]+)\}", tex).group(1)
    body = tex.split(r"\begin{tabular}")[1].split(r"\end{tabular}")[0]
    rows = [line for line in body.splitlines()[1:] if line.strip() and line.strip() != r"\hline"]
    return len(spec.replace("|", "")), rows


def test_latex_columns_balanced_and_escaped(sweep, tmp_path):
    out = tmp_path / "out"
    compare(sweep, formats=["tex"], out_dir=out, plots=False, latex_caption="F1 & acc_50%")
    tex = (out / "leaderboard.tex").read_text()
    n_columns, rows = tabular_rows(tex)
    assert len(rows) == 1 + 5  # header + one row per config
    for line in rows:
        assert len(re.findall(r"(?<!\\)&", line)) == n_columns - 1, line
        assert line.endswith(r"\\")
        assert not re.search(r"(?<!\\)[_%#]", line), line
        assert "±" not in line and "★" not in line
    assert r"val/f1\_macro" in rows[0]
    assert r"$\pm$" in tex and r"$\star$ model=a" in tex
    assert r"\caption{F1 \& acc\_50\%}" in tex


def test_pivot_mean_rank(tmp_path):
    root = tmp_path / "grid"
    scores = {"x": {"a": 0.9, "b": 0.8, "c": 0.7}, "y": {"a": 0.6, "b": 0.75, "c": 0.5}}
    job = iter(range(100))
    for dataset, by_model in scores.items():
        for model, score in by_model.items():
            for seed in (1, 2):  # mean over seeds is the cell
                write_run(
                    root,
                    str(next(job)),
                    [f"model={model}", f"data={dataset}", f"seed={seed}"],
                    metrics(0.5),
                    metrics(score + (seed - 1.5) / 100),
                    dataset=dataset,
                )
    c = compare(root, pivot="data", formats=["md"], plots=False)
    p = c.pivot.set_index("config")
    assert list(p.index) == ["model=b", "model=a", "model=c"]  # rank ties broken by mean score
    assert p.loc["model=a", "x"] == pytest.approx(0.9)
    assert p.loc["model=b", "y"] == pytest.approx(0.75)
    assert p["mean rank"].to_dict() == pytest.approx(
        {"model=a": 1.5, "model=b": 1.5, "model=c": 3.0}
    )
    assert p.loc["model=b", "mean"] == pytest.approx(0.775)
    assert (root / "comparison" / "pivot_data.md").is_file()
    assert (root / "comparison" / "pivot_data.csv").is_file()
    assert any("span 2 datasets" in line for line in c.summary)


def test_cli_writes_tables_and_plots(sweep, capsys):
    assert main([str(sweep)]) == 0
    out = sweep / "comparison"
    for fmt in ("md", "csv", "tex", "html"):
        assert (out / f"leaderboard.{fmt}").stat().st_size > 0
    for plot in ("metric_by_config", "quality_vs_params", "quality_vs_fit_time", "learning_curves"):
        assert (out / f"{plot}.png").stat().st_size > 0
    md = (out / "leaderboard.md").read_text()
    assert "| ★ | model=a |" in md and "failed: model not available offline" in md
    assert "Selected on val/f1_macro" in capsys.readouterr().out


def test_cli_second_dir_and_out(sweep, tmp_path):
    other = tmp_path / "other"
    write_run(other, "0", ["model=z", "seed=1"], metrics(0.99), metrics(0.5))
    out = tmp_path / "tables"
    assert (
        main([str(sweep), str(other), "--out", str(out), "--format", "md,csv", "--no-plots"]) == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "inputs.json",
        "leaderboard.csv",
        "leaderboard.md",
    ]
    assert "model=z" in (out / "leaderboard.md").read_text()


def test_cli_empty_dir_fails_with_message(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(empty)]) != 0
    err = capsys.readouterr().err
    assert "no results.json" in err and str(empty) in err
    assert not (empty / "comparison").exists()
    assert main([str(tmp_path / "missing")]) != 0
    assert main([str(empty), "--metric", "test/acc"]) != 0


def test_cli_rejects_test_metric_for_selection(sweep, capsys):
    assert main([str(sweep), "--metric", "test/acc", "--no-plots"]) == 1
    assert "validation" in capsys.readouterr().err


# --------------------------------------------------------------------------- per-example statistics


def significance_runs(tmp_path: Path, name: str, header: str, rows: list[str]):
    """A one-run `runs` frame whose test_predictions.csv has `header` and `rows`."""
    import pandas as pd

    path = tmp_path / f"{name}.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    row = {"status": "completed", "predictions": str(path), "seed": 1, "fold": None}
    return pd.DataFrame([{**row, "run_dir": str(tmp_path / name)}])


def test_significance_on_regression_scores(tmp_path):
    """score = -(pred - label)^2: the statistic is its mean; McNemar needs 1/0 scores."""
    from bakeoff.results.significance import MEAN_SCORE, significance

    labels = [1.0, 2.0, 3.0, 4.0] * 50
    best_preds = [1.0, 2.0, 3.0, 5.0] * 50  # squared errors 0, 0, 0, 1: mean score -0.25
    other_preds = [1.5, 2.5, 3.0, 4.0] * 50  # 0.25, 0.25, 0, 0: mean score -0.125
    # the other run wrote the same labels with other digits
    other_labels = ["1.0000001", "2", "3.0", "4.00"] * 50

    def rows(labels, preds):
        return [
            f"{i},{y},{p},{-((float(p) - float(y)) ** 2)}"
            for i, (y, p) in enumerate(zip(labels, preds, strict=True))
        ]

    header = "index,label,pred,score"
    best = significance_runs(tmp_path, "best", header, rows(labels, best_preds))
    other = significance_runs(tmp_path, "other", header, rows(other_labels, other_preds))
    test = significance(best, other)
    assert test["statistic"] == MEAN_SCORE and test["n_examples"] == 200
    assert test["delta"] == pytest.approx(-0.125 - -0.25, abs=1e-6)
    assert test["p_bootstrap"] < 0.05
    assert math.isnan(test["p_mcnemar"])
    moved = significance_runs(tmp_path, "moved", header, rows([4.5] + labels[1:], other_preds))
    assert significance(best, moved)["note"] == "test sets differ"


def test_significance_on_tp_fp_fn_counts(tmp_path):
    """NER per sentence: the statistic is F1 = 2 Σtp / (2 Σtp + Σfp + Σfn) of the counts."""
    from bakeoff.results.significance import COUNTS_F1, significance

    labels = ['"B-PER I-PER O"', "O B-LOC", "B-ORG O", '"B-PER O B-LOC"'] * 50
    best_counts = ["2,0,0", "1,1,0", "0,0,1", "1,0,1"]  # Σ 4, 1, 2: F1 = 8 / 11
    other_counts = ["2,0,0", "0,1,1", "0,0,1", "1,0,1"]  # Σ 3, 1, 3: F1 = 6 / 10

    def rows(counts):
        return [f"{i},{y},O O,{counts[i % 4]}" for i, y in enumerate(labels)]

    header = "index,label,pred,tp,fp,fn"
    best = significance_runs(tmp_path, "best", header, rows(best_counts))
    other = significance_runs(tmp_path, "other", header, rows(other_counts))
    test = significance(best, other)
    assert test["statistic"] == COUNTS_F1 and test["n_examples"] == 200
    assert test["delta"] == pytest.approx(6 / 10 - 8 / 11)
    # every resample with one of the changed sentences favours best: none crosses zero
    assert test["p_bootstrap"] == pytest.approx(2 / 10_001)
    assert math.isnan(test["p_mcnemar"])
    assert significance(best, best)["p_bootstrap"] == 1.0
    # a score file is another statistic: not compared with counts
    scores = significance_runs(tmp_path, "scores", "index,label,pred,score", ["0,O,O,1"])
    assert significance(best, scores)["note"] == "different statistics"


def test_counts_statistic_shows_in_table_and_legend(tmp_path):
    from bakeoff.results.tables import leaderboard_markdown

    root = tmp_path / "ner"
    for i, (model, counts) in enumerate([("a", "3,0,0"), ("b", "1,1,1")]):
        run_dir = write_run(root, str(i), [f"model={model}", "seed=1"], metrics(0.9 - i / 10))
        rows = [f"{j},B-PER O,O O,{counts}" for j in range(40)]
        (run_dir / "test_predictions.csv").write_text(
            "\n".join(["index,label,pred,tp,fp,fn", *rows]) + "\n"
        )
    c = compare(root, formats=["md"], plots=False)
    b = row(c, "model=b")
    assert b["statistic"] == "F1 of tp/fp/fn counts"
    assert b["delta"] == pytest.approx(2 / 4 - 1.0) and b["vs_best"] == "worse on test"
    md = leaderboard_markdown(c)
    assert md == (root / "comparison" / "leaderboard.md").read_text()
    assert "paired bootstrap (10,000 resamples) of the test F1 of tp/fp/fn counts" in md
    assert "McNemar" not in md.split("| model=b |")[1].split("\n", 1)[1]


def test_legacy_predictions_and_legend_of_scores(sweep):
    from bakeoff.results.tables import console_frame, legend

    c = compare(sweep, formats=None, plots=False)
    text = legend(c)
    assert "of the test/f1_macro vs the selected config" in text
    assert "exact McNemar where the score is 1/0 correctness" in text
    assert list(console_frame(c).columns) == [
        "",
        "config",
        "status",
        "n",
        "val/f1_macro",
        "test/f1_macro",
        "params",
        "fit s",
        "p (bootstrap)",
        "p on",
        "vs best",
    ]


def test_selection_mode_falls_back_to_min_for_mse_and_loss():
    import pandas as pd

    from bakeoff.results.aggregate import selection_metric

    runs = pd.DataFrame(
        {
            "status": ["completed"],
            "monitor_metric": [None],
            "monitor_mode": [None],
            "val/mse": [1.0],
        }
    )
    assert selection_metric(runs, "val/mse", None) == ("val/mse", "min")
    runs["val/loss"] = 0.5
    assert selection_metric(runs, "loss", None) == ("val/loss", "min")
    runs["val/pearson"] = 0.5
    assert selection_metric(runs, "val/pearson", None) == ("val/pearson", "max")


def test_new_metrics_are_ordered_after_the_known_ones():
    import pandas as pd

    from bakeoff.results.collect import KNOWN_METRICS, ordered_metric_columns

    assert KNOWN_METRICS[:5] == ("acc", "f1_macro", "precision_macro", "recall_macro", "loss")
    runs = pd.DataFrame(columns=["val/zeta", "val/map", "val/mse", "val/pearson", "val/acc"])
    assert ordered_metric_columns(runs) == [
        "val/acc",
        "val/pearson",
        "val/mse",
        "val/map",
        "val/zeta",
    ]


def test_compare_is_the_function_whatever_was_imported():
    import types

    import bakeoff.results
    import bakeoff.results.comparison  # noqa: F401

    assert isinstance(bakeoff.results.compare, types.FunctionType)
    assert bakeoff.results.compare is compare
