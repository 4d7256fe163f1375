"""Published tables beside ours: every reference cell cites its source, runs match cells by
model x data set x metric (selection on val), Δ = ours − paper in the paper's units, tolerance
flags, the pivot, the heat-map, and a clear report of what matched nothing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from bakeoff.results.collect import Job
from bakeoff.results.comparison import main as compare_main
from bakeoff.results.reference import (
    OUTSIDE,
    REFERENCE_DIR,
    WITHIN,
    ReferenceError,
    apply_map,
    compare_reference,
    load_reference,
)
from tests.conftest import CONF

REFERENCE_FILES = sorted(REFERENCE_DIR.glob("*.yaml"))


# -- the reference files ------------------------------------------------------------------------
def test_there_is_a_reference_file_per_published_table():
    names = {p.stem for p in REFERENCE_FILES}
    assert {
        "run_glue_bert_base_cased",
        "roberta_glue_dev",
        "distilbert_glue_dev",
        "bert_conll2003",
        "kornblith_transfer",
    } <= names


@pytest.mark.parametrize("path", REFERENCE_FILES, ids=lambda p: p.stem)
def test_every_cell_carries_its_citation_and_maps_to_our_configs(path: Path):
    raw = yaml.safe_load(path.read_text())
    ref = load_reference(path)
    assert ref.name == path.stem
    assert ref.citation["paper"] and ref.citation["year"] and ref.citation.get("url")
    assert len(ref.cells) == len(raw["cells"])
    for cell, raw_cell in zip(ref.cells, raw["cells"], strict=True):
        assert isinstance(raw_cell.get("citation"), str) and len(raw_cell["citation"]) > 10
        assert 0 < cell.value <= 100  # the published number, in the paper's x100 units
    # every name a cell maps to is one of our model / data configs
    for model in ref.models.values():
        assert (CONF / "model" / f"{model}.yaml").is_file(), model
    for spec in ref.datasets.values():
        assert (CONF / "data" / f"{spec['data']}.yaml").is_file(), spec["data"]


def test_the_published_numbers_as_copied():
    """A few cells checked against the sources by hand (README tables / BERT Table 7)."""
    cells = {
        (r.name, c.model, c.dataset, c.split, c.metric): c.value
        for r in map(load_reference, REFERENCE_FILES)
        for c in r.cells
    }
    assert cells[("run_glue_bert_base_cased", "bert-base-cased", "CoLA", "dev", "mcc")] == 56.53
    assert cells[("run_glue_bert_base_cased", "bert-base-cased", "MNLI-mm", "dev", "acc")] == 84.10
    assert cells[("roberta_glue_dev", "roberta.base", "RTE", "dev", "acc")] == 78.7
    assert cells[("distilbert_glue_dev", "DistilBERT-base-uncased", "SST-2", "dev", "acc")] == 91.3
    assert cells[("bert_conll2003", "BERT-BASE", "CoNLL-2003", "test", "f1")] == 92.4


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_cell_without_citation_or_value_is_an_error_naming_file_and_cell(tmp_path):
    raw = yaml.safe_load((REFERENCE_DIR / "bert_conll2003.yaml").read_text())
    del raw["cells"][1]["citation"]
    path = _write(tmp_path / "bad.yaml", raw)
    with pytest.raises(ReferenceError, match=r"bad.yaml: cells\[1\]: missing 'citation'"):
        load_reference(path)
    raw["cells"][1]["citation"] = "Table 7"
    raw["cells"][0]["value"] = "96.4%"
    _write(path, raw)
    with pytest.raises(ReferenceError, match=r"cells\[0\]: value must be a number"):
        load_reference(path)
    with pytest.raises(ReferenceError, match="one of: .*bert_conll2003"):
        load_reference("no_such_table")


# -- matching ----------------------------------------------------------------------------------
def _job(model: str, data: str, lr: str, seed: int, val: dict, monitor: str = "val/acc") -> Job:
    metrics = {"val": val, "test": dict(val)}
    if data == "glue_mnli":
        metrics["val_mismatched"] = {"acc": val["acc"] - 0.01}
    record = {
        "status": "completed",
        "seed": seed,
        "overrides": [f"model={model}", f"data={data}", f"optim.lr={lr}", f"seed={seed}"],
        "model": {"name": model},
        "data": {"name": data},
        "monitor": {"metric": monitor, "mode": "max"},
        "metrics": metrics,
    }
    return Job(
        Path(f"/runs/{model}/{data}/{lr}/{seed}"), record, "completed", None, record["overrides"]
    )


def _jobs() -> list[Job]:
    jobs = []
    for seed, noise in ((1, 0.0), (2, 0.01), (3, -0.01)):
        # lr 2e-5 is better on val: it is the one selected, and its numbers are compared
        jobs.append(_job("bert_cased", "glue_mnli", "2e-5", seed, {"acc": 0.84 + noise}))
        jobs.append(_job("bert_cased", "glue_mnli", "5e-5", seed, {"acc": 0.80 + noise}))
        jobs.append(
            _job(
                "bert_cased",
                "glue_cola",
                "2e-5",
                seed,
                {"mcc": 0.30 + noise, "acc": 0.7},
                "val/mcc",
            )
        )
    jobs.append(_job("minilm", "amazon_reviews", "5e-5", 1, {"acc": 0.85}))
    return jobs


def test_cells_match_the_config_selected_on_val_and_delta_is_ours_minus_paper():
    ref = load_reference("run_glue_bert_base_cased")
    result = compare_reference(_jobs(), [ref])
    table = result.table.set_index(["dataset", "metric"])
    assert set(table.index) == {("MNLI-m", "acc"), ("MNLI-mm", "acc"), ("CoLA", "mcc")}
    m = table.loc[("MNLI-m", "acc")]
    assert m["config"] == "optim.lr=2e-5" and m["n"] == 3 and m["selected_on"] == "val/acc"
    assert m["ours_mean"] == pytest.approx(84.0) and m["ours_std"] == pytest.approx(1.0)
    assert m["delta"] == pytest.approx(84.0 - 83.91)
    assert m["tolerance"] == pytest.approx(2.0) and m["flag"] == WITHIN  # 2 std > 1 point
    mm = table.loc[("MNLI-mm", "acc")]
    assert mm["ours_mean"] == pytest.approx(83.0) and mm["delta"] == pytest.approx(83.0 - 84.10)
    cola = table.loc[("CoLA", "mcc")]
    assert cola["delta"] == pytest.approx(30.0 - 56.53) and cola["flag"] == OUTSIDE
    for row in result.table.itertuples():
        assert row.delta == pytest.approx(row.ours_mean - row.paper)
    # cells of tasks we did not run, and our runs no cell names, are listed
    assert any("SST-2" in c and "no completed run" in c for c in result.unmatched_cells)
    assert result.unmatched_rows == ["minilm amazon_reviews (1 configuration(s))"]


def test_tolerance_is_configurable_and_one_seed_uses_the_points():
    ref = load_reference("run_glue_bert_base_cased")
    jobs = [_job("bert_cased", "glue_mnli", "2e-5", 1, {"acc": 0.8541})]
    row = compare_reference(jobs, [ref]).table.iloc[0]
    assert math.isnan(row["ours_std"]) and row["tolerance"] == 1.0 and row["flag"] == OUTSIDE
    row = compare_reference(jobs, [ref], tolerance_points=2.0).table.iloc[0]
    assert row["tolerance"] == 2.0 and row["flag"] == WITHIN


def test_map_renames_a_paper_name_and_rejects_unknown_ones():
    refs = apply_map([load_reference("bert_conll2003")], ["BERT-BASE=tiny_bert"])
    assert refs[0].models["BERT-BASE"] == "tiny_bert"
    with pytest.raises(ReferenceError, match="no reference has"):
        apply_map(refs, ["GPT-2=tiny_bert"])
    with pytest.raises(ReferenceError, match="PAPER=OURS"):
        apply_map(refs, ["BERT-BASE"])


# -- the CLI -----------------------------------------------------------------------------------
def _sweep(root: Path, jobs: list[Job]) -> Path:
    for i, job in enumerate(jobs):
        run = root / str(i)
        run.mkdir(parents=True)
        (run / "results.json").write_text(json.dumps(job.record))
    return root


def test_cli_writes_reference_tables_pivot_and_heatmap(tmp_path, capsys):
    sweep = _sweep(tmp_path / "sweep", _jobs())
    out = tmp_path / "out"
    argv = [str(sweep), "--out", str(out), "--no-plots", "--pivot", "data"]
    refs = ["--reference", "run_glue_bert_base_cased", "--reference", "distilbert_glue_dev"]
    assert compare_main([*argv, *refs]) == 0
    printed = capsys.readouterr().out
    assert "| run_glue_bert_base_cased | bert-base-cased | MNLI-m | dev | acc | 83.91 |" in printed
    assert "84.00 ± 1.00 (n=3) | +0.09 | ±2.00 | within |" in printed
    for name in ("reference.md", "reference.csv", "reference.tex", "reference.html"):
        assert (out / name).is_file()
    assert (out / "reference_delta.png").stat().st_size > 0
    pivot = (out / "reference_pivot.md").read_text()
    assert "| bert-base-cased |" in pivot and "84.0 / 83.91 (+0.1)" in pivot
    # the DistilBERT table's BERT-base-cased row matches the same runs: its own row
    assert "| distilbert_glue_dev | BERT-base-cased | CoLA | dev | mcc | 58.2 |" in printed


def test_cli_says_which_rows_and_cells_were_unmatched_instead_of_an_empty_table(tmp_path, capsys):
    jobs = [_job("minilm", "amazon_reviews", "5e-5", s, {"acc": 0.85}) for s in (1, 2)]
    sweep = _sweep(tmp_path / "sweep", jobs)
    argv = [str(sweep), "--out", str(tmp_path / "out"), "--no-plots"]
    assert compare_main([*argv, "--reference", "bert_conll2003"]) == 0
    printed = capsys.readouterr().out
    assert "No run matched any reference cell" in printed
    assert "bert_conll2003: BERT-BASE · CoNLL-2003 · dev f1 (wants bert_cased conll2003" in printed
    assert "minilm amazon_reviews (1 configuration(s))" in printed
    assert "| reference |" not in printed  # no empty table
    assert not (tmp_path / "out" / "reference.csv").exists()
