"""Published tables beside ours: every reference cell cites its source, runs match cells by
model x data set x metric (selection on val), Δ = ours − paper in the paper's units, tolerance
flags, the pivot, the heat-map, and a clear report of what matched nothing."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import yaml

from bakeoff.results.collect import Job
from bakeoff.results.comparison import main as compare_main
from bakeoff.results.reference import REFERENCE_DIR, ReferenceError, apply_map, load_reference
from bakeoff.results.reference_match import OUTSIDE, WITHIN, compare_reference
from tests.helpers.runs import CONF

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
        "simclr_supervised_resnet50",
        "vit_imagenet1k_transfer",
        "efficientnet_transfer",
        "sfda_mobilenetv2",
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
    simclr = {(c.setting, c.dataset): c for c in load_reference("simclr_supervised_resnet50").cells}
    assert simclr[("linear evaluation", "Oxford-IIIT Pets")].value == 91.5
    assert simclr[("fine-tuned", "Oxford 102 Flowers")].value == 97.6
    assert simclr[("fine-tuned", "CIFAR-10")].metric == "acc"  # top-1; Pets, Flowers per class
    assert simclr[("linear evaluation", "Oxford-IIIT Pets")].metric == "recall_macro"
    assert cells[("vit_imagenet1k_transfer", "ViT-B/16", "CIFAR-100", "test", "acc")] == 87.13
    assert cells[("efficientnet_transfer", "EfficientNet-B0", "CIFAR-10", "test", "acc")] == 98.1
    # added from issue 25's sources: RoBERTa STS-B (Pearson, fairseq#1561), run_glue WNLI, and
    # SFDA's tw_group1.py finetune_acc (commit eb1eee0)
    assert cells[("roberta_glue_dev", "roberta.base", "STS-B", "dev", "pearson")] == 91.2
    assert cells[("run_glue_bert_base_cased", "bert-base-cased", "WNLI", "dev", "acc")] == 56.34
    sfda = {(c.model, c.dataset): c for c in load_reference("sfda_mobilenetv2").cells}
    assert sfda[("mobilenet_v2", "CIFAR-10")].value == 94.74
    assert sfda[("mobilenet_v2", "CIFAR-100")].value == 78.11
    assert sfda[("mobilenet_v2", "Oxford-IIIT Pets")].value == 91.28
    assert sfda[("mobilenet_v2", "Oxford 102 Flowers")].value == 96.2
    assert sfda[("resnet50", "Oxford-IIIT Pets")].value == 93.88
    assert load_reference("sfda_mobilenetv2").models["mobilenet_v2"] == "mobilenetv2"
    supcon = {c.dataset: c for c in load_reference("supcon_transfer").cells}
    assert supcon["CIFAR-100"].value == 84.93 and supcon["Oxford 102 Flowers"].value == 96.93
    # each file aggregates our seeds as its source does: medians of 5 runs (RoBERTa section 5.1,
    # DistilBERT Table 1), the mean of 5 restarts (BERT Table 7)
    aggregate = {r.name: r.aggregate for r in map(load_reference, REFERENCE_FILES)}
    assert aggregate["roberta_glue_dev"] == aggregate["distilbert_glue_dev"] == "median"
    assert aggregate["bert_conll2003"] == "mean"
    bert = load_reference("bert_conll2003").path.read_text()
    assert "case-preserving WordPiece" in bert and "91-91.7" in bert


def test_a_median_reference_compares_the_median_of_our_seeds():
    ref = load_reference("roberta_glue_dev")
    jobs = [
        _job("roberta", "glue_rte", "2e-5", seed, {"acc": acc})
        for seed, acc in ((1, 0.70), (2, 0.72), (3, 0.90))
    ]
    row = compare_reference(jobs, [ref]).table.iloc[0]
    assert row["aggregate"] == "median" and row["ours_mean"] == pytest.approx(72.0)
    assert row["delta"] == pytest.approx(72.0 - 78.7)
    mean_ref = load_reference("run_glue_bert_base_cased")
    jobs = [_job("bert_cased", "glue_rte", "2e-5", s, {"acc": a}) for s, a in ((1, 0.7), (2, 0.9))]
    assert compare_reference(jobs, [mean_ref]).table.iloc[0]["ours_mean"] == pytest.approx(80.0)


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
    tex = (out / "reference.tex").read_text()
    assert r"$\Delta$" in tex and "Δ" not in tex and "−" not in tex  # plain LaTeX compiles it
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


# -- the reproduce scripts ---------------------------------------------------------------------
# Small runs: one seed, one learning rate, a few batches, CSV logger. The Δ of random-init tiny
# models are meaningless; what is checked is the table's shape and that each Δ = ours − paper,
# with "ours" read back from the runs' own results.json.
SMALL = [
    "logger=csv",
    "trainer.max_epochs=1",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "callbacks.progress_bar=null",
    "data.limit_train=32",
    "data.limit_val=16",
    "data.limit_test=16",
    "data.batch_size=16",
]
TEXT_SMALL = [*SMALL, "data.cache_dir=null"]


def run_script(name: str, *args: str, timeout: int = 900):
    import os
    import subprocess

    from tests.helpers.runs import ROOT

    # The scripts run `${PYTHON:-python}`: this interpreter, also where no venv is activated (CI)
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHON": sys.executable}
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / f"reproduce_{name}.sh"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("name", "jobs", "sweeps"),
    [("glue_bert_roberta", 360, 32), ("conll_ner", 60, 2), ("vision_transfer", 192, 32)],
)
def test_dry_run_prints_every_job_with_its_overrides_and_gpu_hours(name, jobs, sweeps):
    proc = run_script(name, "--dry-run", timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("job ")]
    assert len(lines) == jobs
    assert f"{jobs} jobs in {sweeps} sweeps; estimated" in proc.stdout
    assert "GPU-hours at an assumed 100 TFLOP/s" in proc.stdout
    for line in lines:
        assert f"experiment={name}" in line and " model=" in line and " data=" in line
        assert " seed=" in line and ("optim.lr=" in line or "finetune.head_lr=" in line)
    if name == "glue_bert_roberta":  # RoBERTa's grid: 3 LRs x 2 batch sizes x 3 seeds per task
        roberta_rte = [line for line in lines if "model=roberta " in line and "glue_rte" in line]
        assert len(roberta_rte) == 18 and all("trainer.max_epochs=10" in x for x in roberta_rte)


def test_dry_run_gpu_hours_follow_from_flops():
    from bakeoff.errors import BakeoffError
    from bakeoff.results.reproduce import estimate_gpu_hours

    job = ["model=bert", "data=glue_rte", "trainer.max_epochs=3", "finetune=full"]
    # 2 x 110M params x 128 tokens forward, x3 for training, x 2490 examples x 3 epochs
    expected = 2 * 110e6 * 128 * 3 * 2490 * 3 / 100e12 / 3600
    assert estimate_gpu_hours(job, {}, 100.0) == pytest.approx(expected)
    probe = ["model=resnet50", "data=oxford_pets", "finetune=linear_probe"]
    steps = {"trainer.max_steps": "20000", "data.batch_size": "256"}
    # a probe: one forward pass over the 3312 train images (its features are cached)
    assert estimate_gpu_hours(probe, steps, 100.0) == pytest.approx(
        2 * 4.1e9 * 3312 / 100e12 / 3600
    )
    # the model facts come from the model config; one that states none is refused, not guessed
    with pytest.raises(
        BakeoffError, match=r"model=tfidf_lr: conf/model/tfidf_lr.yaml states no params"
    ):
        estimate_gpu_hours(["model=tfidf_lr", "data=glue_rte"], {}, 100.0)


def _reference_rows(out: Path) -> list[dict]:
    import csv

    with open(out / "comparison" / "reference.csv") as f:
        return list(csv.DictReader(f))


def _records(out: Path) -> dict[tuple[str, str], dict]:
    records = {}
    for path in out.rglob("results.json"):
        record = json.loads(path.read_text())
        assert record["status"] == "completed", record.get("error")
        records[(record["model"]["name"], record["data"]["name"])] = record
    return records


@pytest.mark.slow
def test_glue_script_end_to_end_on_fixtures(tmp_path):
    from tests.helpers.glue import write_glue

    for subset in ("cola", "mrpc"):
        write_glue(subset, tmp_path / "glue")
    out = tmp_path / "out"
    args = ["--tasks", "cola,mrpc", "--models", "tiny_bert", "--seeds", "1", "--lrs", "1e-3"]
    args += ["--local", str(tmp_path / "glue"), "--out", str(out)]
    args += ["--map", "bert-base-cased=tiny_bert", *TEXT_SMALL]
    proc = run_script("glue_bert_roberta", *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = _reference_rows(out)
    # run_glue's table for bert-base-cased, as far as the two tasks go: CoLA mcc, MRPC f1 + acc
    assert [(r["dataset"], r["metric"]) for r in rows] == [
        ("CoLA", "mcc"),
        ("MRPC", "f1"),
        ("MRPC", "acc"),
    ]
    records = _records(out)
    for row in rows:
        data = {"CoLA": "glue_cola", "MRPC": "glue_mrpc"}[row["dataset"]]
        ours = 100 * records[("tiny_bert", data)]["metrics"]["val"][row["metric"]]
        assert float(row["ours_mean"]) == pytest.approx(ours, abs=1e-4)
        assert float(row["delta"]) == pytest.approx(ours - float(row["paper"]), abs=1e-4)
        assert row["n"] == "1" and row["flag"] in (WITHIN, OUTSIDE)
    assert "| bert-base-cased |" in (out / "comparison" / "reference_pivot.md").read_text()
    assert (out / "comparison" / "reference_delta.png").is_file()
    assert "(wants roberta glue_rte: no completed run)" in proc.stdout


@pytest.mark.slow
def test_conll_script_end_to_end_on_fixtures(tmp_path):
    from tests.helpers.conll import write_conll2003_parquet

    sizes = {"train": 32, "validation": 16, "test": 16}
    write_conll2003_parquet(tmp_path / "conll2003", sizes)
    out = tmp_path / "out"
    args = ["--models", "tiny_bert", "--seeds", "1", "--lrs", "1e-3", "--out", str(out)]
    args += ["--map", "BERT-BASE=tiny_bert", f"data.source.path={tmp_path / 'conll2003'}"]
    args += ["data.source.revision=null", *TEXT_SMALL]
    proc = run_script("conll_ner", *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = _reference_rows(out)
    assert [(r["split"], r["metric"], r["paper"]) for r in rows] == [
        ("dev", "f1", "96.4"),
        ("test", "f1", "92.4"),
    ]
    record = _records(out)[("tiny_bert", "conll2003")]
    for row, split in zip(rows, ("val", "test"), strict=True):
        ours = 100 * record["metrics"][split]["f1"]
        assert float(row["delta"]) == pytest.approx(ours - float(row["paper"]), abs=1e-4)


def _image_fixture(folder: Path, name: str) -> None:
    """An Oxford-Pets-shaped parquet per split: HF Image feature + ClassLabel, as on the hub."""
    import io

    import datasets
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=["Abyssinian", "beagle"])}
    )
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", 32), ("test", 16)):
        rows = []
        for i in range(n):
            label = i % 2
            pixels = rng.integers(0, 80, (24, 24, 3)) + 150 * label
            buf = io.BytesIO()
            Image.fromarray(pixels.astype("uint8")).save(buf, format="PNG")
            rows.append({"image": {"bytes": buf.getvalue(), "path": None}, "label": label})
        ds = datasets.Dataset.from_list(rows, features=features)
        ds.to_parquet(str(folder / f"{name}-{split}.parquet"))


@pytest.mark.slow
def test_vision_script_end_to_end_on_fixtures(tmp_path):
    _image_fixture(tmp_path / "images", "oxford_pets")
    out = tmp_path / "out"
    args = ["--tasks", "pets", "--models", "mobilenetv2", "--seeds", "1", "--lrs", "0.01"]
    args += ["--local", str(tmp_path / "images"), "--out", str(out), *SMALL]
    args += ["data.image_size=32", "trainer.max_steps=-1", "data.num_workers=0"]
    proc = run_script("vision_transfer", *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = list(out.rglob("results.json"))
    strategies = {json.loads(p.read_text())["finetune"]["strategy"] for p in records}
    assert strategies == {"full", "linear_probe"}
    probe = next(
        json.loads(p.read_text())["config"] for p in records if "linear_probe" in str(p.parent)
    )
    assert probe["finetune"]["head_lr"] == 0.01  # the grid's LR reaches the probe's head
    # the fine-tuned mobilenetv2 meets SFDA's cell (the same torchvision weights); the probe has
    # no cell: the comparison says so, row by row
    assert "sfda_mobilenetv2" in proc.stdout
    assert "mobilenetv2 oxford_pets linear_probe (1 configuration(s))" in proc.stdout


@pytest.mark.parametrize(
    ("data", "path"),
    [
        # cifar10 and oxford_pets take the same path (they compose in test_every_config.py)
        ("cifar100", "uoft-cs/cifar100"),
        ("flowers102", "Donghyun99/Oxford-Flower-102"),
    ],
)
def test_vision_data_configs_fail_clearly_offline(tmp_path, monkeypatch, data, path):
    from bakeoff.errors import DataError
    from bakeoff.utils.build import build
    from tests.helpers.runs import compose

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    cfg = compose(tmp_path, f"data={data}", "model=mobilenetv2")
    assert cfg.data.name == data and cfg.task.name == "classification"
    with pytest.raises(DataError, match=f"could not load HF dataset '{path}'.*Offline choices"):
        build(cfg.data.source).load()
