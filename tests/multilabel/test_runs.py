"""Multi-label classification: labels, metrics against sklearn and by hand, sources, end to end.

Fixtures are made here: a JSONL with a list column and a CSV with 0/1 columns (text: the labels
are the fruits a sentence names), and small PNGs with a CSV of 0/1 columns (images: the colours
of the stripes painted on them).
"""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from bakeoff.errors import ConfigError, DataError
from bakeoff.tasks.multilabel import MultiLabel
from tests.conftest import ROOT, TINY, compose, run_cli

METRICS = ["f1_micro", "f1_macro", "precision_micro", "recall_micro", "map"]
FRUITS = ["apple", "banana", "cherry"]
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220)}


def make_task(**options) -> MultiLabel:
    return MultiLabel(
        name="multilabel", metrics=METRICS, monitor={"metric": "val/map", "mode": "max"}, **options
    )


# -- fixtures on disk -----------------------------------------------------------------------------


def fruit_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    filler = ["the", "a", "good", "bad", "fresh", "old", "sweet", "sour", "nice", "plain"]
    rows = []
    for _ in range(n):
        labels = [f for f in FRUITS if rng.random() < 0.4]
        words = labels + rng.sample(filler, 4)
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "labels": labels})
    return rows


def write_text_fixtures(root: Path) -> dict[str, Path]:
    """train/test as JSONL (a list column) and as CSV (one 0/1 column per fruit)."""
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, n, seed in (("train", 96, 0), ("test", 40, 1)):
        rows = fruit_rows(n, seed)
        paths[f"{split}_jsonl"] = root / f"{split}.jsonl"
        with paths[f"{split}_jsonl"].open("w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        paths[f"{split}_csv"] = root / f"{split}.csv"
        with paths[f"{split}_csv"].open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["text", *FRUITS])
            writer.writerows([r["text"], *(int(x in r["labels"]) for x in FRUITS)] for r in rows)
    return paths


def write_image_fixtures(root: Path, n_train: int = 48, n_test: int = 16) -> dict[str, Path]:
    """PNGs with a stripe per colour label (relative paths in the tables), 0/1 columns."""
    from PIL import Image

    rng = np.random.default_rng(0)
    (root / "img").mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, n in (("train", n_train), ("test", n_test)):
        table = [["image", *COLOURS]]
        for i in range(n):
            on = rng.random(len(COLOURS)) < 0.5
            pixels = np.full((32, 32, 3), 245, dtype=np.uint8)
            for k, (flag, rgb) in enumerate(zip(on, COLOURS.values(), strict=True)):
                if flag:
                    pixels[:, 10 * k : 10 * k + 10] = rgb
            name = f"img/{split}_{i:03d}.png"
            Image.fromarray(pixels).save(root / name)
            table.append([name, *map(int, on)])
        paths[split] = root / f"{split}.csv"
        with paths[split].open("w", newline="") as f:
            csv.writer(f).writerows(table)
    return paths


@pytest.fixture(scope="module")
def text_files(tmp_path_factory):
    return write_text_fixtures(tmp_path_factory.mktemp("text"))


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    return write_image_fixtures(tmp_path_factory.mktemp("images"))


def text_overrides(files: dict[str, Path], form: str = "jsonl") -> list[str]:
    label = "labels" if form == "jsonl" else f"[{','.join(FRUITS)}]"
    return [
        "data=csv",
        "task=multilabel",
        f"data.source.train={files[f'train_{form}']}",
        f"data.source.test={files[f'test_{form}']}",
        f"data.source.label_column={label}",
        "data.cache_dir=null",
    ]


# -- what a predictions file says -----------------------------------------------------------------


def read_predictions(path: Path, label_names: list[str]):
    """(true 0/1, predicted 0/1, probabilities, tp/fp/fn) arrays from test_predictions.csv."""
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "index",
        "label",
        "pred",
        *(f"prob_{n}" for n in label_names),
        "tp",
        "fp",
        "fn",
    ]
    assert [int(r["index"]) for r in rows] == list(range(len(rows)))

    def onehot(cell: str) -> list[int]:
        names = json.loads(cell)  # a JSON list
        assert set(names) <= set(label_names), cell
        return [int(n in names) for n in label_names]

    y = np.array([onehot(r["label"]) for r in rows])
    p = np.array([onehot(r["pred"]) for r in rows])
    s = np.array([[float(r[f"prob_{n}"]) for n in label_names] for r in rows])
    counts = np.array([[int(r[k]) for k in ("tp", "fp", "fn")] for r in rows])
    return y, p, s, counts


def metrics_from_predictions(y, p, s, threshold: float = 0.5) -> dict[str, float]:
    """The task's metrics recomputed with sklearn (a label without positives: AP 0)."""
    import warnings

    from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

    assert ((s > threshold) == p.astype(bool)).all()  # pred is the thresholded probabilities
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No positive class found in y_true"
        ap = average_precision_score(y, s, average="macro")
    return {
        "f1_micro": f1_score(y, p, average="micro", zero_division=0),
        "f1_macro": f1_score(y, p, average="macro", zero_division=0),
        "precision_micro": precision_score(y, p, average="micro", zero_division=0),
        "recall_micro": recall_score(y, p, average="micro", zero_division=0),
        "map": float(ap),
    }


def check_against_predictions(record: dict, run_dir: Path, threshold: float = 0.5) -> None:
    names = record["data"]["label_names"]
    y, p, s, counts = read_predictions(run_dir / record["paths"]["predictions"], names)
    assert len(y) == record["data"]["n_test"]
    # per-example counts: their sums are the micro counts
    yb, pb = y.astype(bool), p.astype(bool)
    expected = np.stack([(pb & yb).sum(1), (pb & ~yb).sum(1), (~pb & yb).sum(1)], axis=1)
    assert (counts == expected).all()
    tp, fp, fn = counts.sum(0)
    test = record["metrics"]["test"]
    if 2 * tp + fp + fn:
        assert test["f1_micro"] == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-6)
    recomputed = metrics_from_predictions(y, p, s, threshold)
    for name in ("f1_micro", "f1_macro", "precision_micro", "recall_micro"):
        assert test[name] == pytest.approx(recomputed[name], abs=1e-6), name
    # probabilities are written with 6 significant digits
    assert test["map"] == pytest.approx(recomputed["map"], abs=1e-4)


def check_record(record: dict, n_labels: int, threshold: float = 0.5) -> None:
    assert record["status"] == "completed" and record["error"] is None
    assert record["data"]["task"] == "multilabel"
    assert record["data"]["num_classes"] == n_labels == len(record["data"]["label_names"])
    assert record["monitor"]["metric"] == "val/map"
    best = max(h["val/map"] for h in record["history"])  # the monitored best over the epochs
    assert record["monitor"]["best"] == best == record["metrics"]["val"]["map"]
    for split in ("val", "test"):
        assert set(record["metrics"][split]) == {*METRICS, "loss"}
        assert all(isinstance(v, float) for v in record["metrics"][split].values()), split
    for key in ("run_dir", "best_ckpt", "predictions"):
        assert record["paths"][key]
    assert record["config"]["task"]["threshold"] == threshold
    for section in ("model", "timing"):
        assert all(v is not None for k, v in record[section].items() if k != "startup_s"), section


# -- labels -----------------------------------------------------------------------------------------


def test_a_rows_labels_come_as_lists_strings_or_arrays():
    task = make_task()
    names = ["a", "b", "c"]
    labels = [["b", "a"], "c,a", "", np.array(["c"]), "['a', 'b']", ["a", "a"], " b , c "]
    assert task.encode(labels, names, "the train split") == [
        [1, 1, 0],
        [1, 0, 1],
        [0, 0, 0],
        [0, 0, 1],
        [1, 1, 0],
        [1, 0, 0],
        [0, 1, 1],
    ]
    assert make_task(separator="|").label_set("x|y,z") == ["x", "y,z"]
    assert task.stratify([[1.0, 0.0]]) is None


def test_label_names_sorted_union_unless_given():
    task = make_task()
    assert task.label_names([["pear", "fig"], "kiwi,fig", ""], None) == ["fig", "kiwi", "pear"]
    assert task.label_names([["pear"]], ["pear", "apple"]) == ["pear", "apple"]
    with pytest.raises(DataError, match="no labels"):
        task.label_names(["", []], None)


def test_unknown_labels_name_the_split_and_the_label():
    task = make_task()
    with pytest.raises(DataError) as info:
        task.encode([["a"], ["a", "plum"]], ["a", "b"], "the test split")
    assert "the test split" in str(info.value) and "'plum' (row 1)" in str(info.value)


def test_options_are_checked():
    with pytest.raises(ConfigError, match="threshold"):
        make_task(threshold=1.5)
    with pytest.raises(ConfigError, match="separator"):
        make_task(separator="")
    with pytest.raises(ConfigError, match="acc"):
        MultiLabel(name="multilabel", metrics=["acc"], monitor={"metric": "val/map"})


def test_batches_stack_float_targets_and_unlabeled_placeholders():
    task = make_task()
    assert task.collate_labels([[1.0, 0.0], [0.0, 1.0]], None).dtype == torch.float32
    assert task.collate_labels([task.placeholder()] * 3, None).shape == (3, 0)
    outputs = torch.tensor([[2.0, -2.0]])
    loss = task.loss(outputs, torch.tensor([[1.0, 0.0]]))
    assert loss.item() == pytest.approx(-math.log(1 / (1 + math.exp(-2.0))), rel=1e-6)


# -- metrics ----------------------------------------------------------------------------------------

# Six examples, four labels, threshold 0.5. By hand: tp=8 fp=1 fn=3 over all labels; per label
# (tp, fp, fn) a (3,0,0) b (2,0,1) c (2,0,1) d (1,1,1) -> F1 1, .8, .8, .5; average precision
# a 1, b 1, c (1/1 + 2/2 + 3/4)/3, d (1/2 + 2/3)/2.
TARGETS = [[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 0, 1], [0, 0, 1, 0], [1, 0, 0, 1], [0, 1, 1, 0]]
PROBS = [
    [0.9, 0.2, 0.6, 0.1],
    [0.4, 0.7, 0.3, 0.2],
    [0.8, 0.45, 0.1, 0.55],
    [0.3, 0.1, 0.25, 0.6],
    [0.6, 0.3, 0.2, 0.35],
    [0.1, 0.8, 0.7, 0.05],
]
BY_HAND = {
    "f1_micro": 2 * 8 / (2 * 8 + 1 + 3),
    "f1_macro": (1 + 0.8 + 0.8 + 0.5) / 4,
    "precision_micro": 8 / 9,
    "recall_micro": 8 / 11,
    "map": (1 + 1 + (1 + 1 + 3 / 4) / 3 + (1 / 2 + 2 / 3) / 2) / 4,
}


def task_metrics(task: MultiLabel, probs, targets, names, batch: int = 4) -> dict[str, float]:
    """The task's own metric collection fed logits in batches, as a test epoch does."""
    collection = task.metrics(names, validate=True)
    p = torch.tensor(probs, dtype=torch.float64)
    logits = torch.log(p / (1 - p)).float()
    y = torch.tensor(targets, dtype=torch.float32)
    for start in range(0, len(y), batch):
        collection.update(
            *task.metric_inputs(logits[start : start + batch], y[start : start + batch])
        )
    return {k: float(v) for k, v in collection.compute().items()}


def test_metrics_match_hand_computation_and_sklearn():
    task = make_task()
    got = task_metrics(task, PROBS, TARGETS, list("abcd"))
    assert got == pytest.approx(BY_HAND, abs=1e-6)
    y, s = np.array(TARGETS), np.array(PROBS)
    assert got == pytest.approx(metrics_from_predictions(y, (s > 0.5).astype(int), s), abs=1e-6)


def test_threshold_option_moves_the_f1_metrics_not_map():
    y, s = np.array(TARGETS), np.array(PROBS)
    got = task_metrics(make_task(threshold=0.3), PROBS, TARGETS, list("abcd"))
    assert got == pytest.approx(metrics_from_predictions(y, (s > 0.3).astype(int), s, 0.3))
    assert got["map"] == pytest.approx(BY_HAND["map"], abs=1e-6)
    assert got["f1_micro"] != pytest.approx(BY_HAND["f1_micro"])


def test_a_label_without_positives_scores_zero_in_the_macro_means():
    """Macro F1 counts it as 0 (sklearn's zero_division=0), and its average precision is 0 in
    mAP, as in sklearn's average_precision_score (torchmetrics warns)."""
    y = np.array(TARGETS)
    y[:, 3] = 0
    s = np.array(PROBS)
    s[:, 3] = np.minimum(s[:, 3], 0.4)  # never predicted either
    with pytest.warns(UserWarning, match="No positive samples"):
        got = task_metrics(make_task(), s.tolist(), y.tolist(), list("abcd"))
    assert got == pytest.approx(metrics_from_predictions(y, (s > 0.5).astype(int), s), abs=1e-6)
    assert got["map"] == pytest.approx((1 + 1 + (1 + 1 + 3 / 4) / 3 + 0) / 4, abs=1e-6)


def test_prediction_rows_carry_label_sets_probabilities_and_counts():
    task = make_task()
    p = torch.tensor(PROBS)
    gathered = [
        {"index": torch.tensor([3, 4, 5]), "target": torch.tensor(TARGETS[3:]), "output": p[3:]},
        {"index": torch.tensor([0, 1, 2]), "target": torch.tensor(TARGETS[:3]), "output": p[:3]},
    ]
    rows = task.rows(gathered, list("abcd"))
    assert [r["index"] for r in rows] == list(range(6))
    assert list(rows[0]) == ["index", "label", "pred", "prob_a", "prob_b", "prob_c", "prob_d"] + [
        "tp",
        "fp",
        "fn",
    ]
    assert rows[2]["label"] == '["a", "b", "d"]' and rows[2]["pred"] == '["a", "d"]'
    assert (rows[2]["tp"], rows[2]["fp"], rows[2]["fn"]) == (2, 0, 1)
    assert rows[3]["pred"] == '["d"]' and (rows[3]["tp"], rows[3]["fp"], rows[3]["fn"]) == (0, 1, 1)
    assert [sum(r[k] for r in rows) for k in ("tp", "fp", "fn")] == [8, 1, 3]
    unlabeled = task.rows(
        [{"index": torch.arange(6), "target": torch.zeros(6, 0), "output": p}],
        list("abcd"),
        labeled=False,
    )
    assert list(unlabeled[0]) == ["index", "pred", "prob_a", "prob_b", "prob_c", "prob_d"]


def test_label_sets_with_spaces_and_separators_read_back_losslessly(tmp_path):
    """Labels holding a space, the separator, quotes: the predictions file's label sets read back
    as the same lists (by the task and by the significance code)."""
    from bakeoff.results.metric_stats import label_set
    from bakeoff.runs.common import write_rows

    names = ["sci fi", "drama,comedy", 'say "hi"', "é"]
    task = make_task(separator=",")
    target = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    output = torch.tensor([[3.0, -3.0, 3.0, -3.0], [-3.0, 3.0, 3.0, 3.0], [-3.0] * 4])
    rows = task.rows([{"index": torch.arange(3), "target": target, "output": output}], names)
    path = tmp_path / "test_predictions.csv"
    write_rows(path, rows)
    read = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [task.label_set(r["label"]) for r in read] == [names[:2], names[2:], []]
    assert [task.label_set(r["pred"]) for r in read] == [[names[0], names[2]], names[1:], []]
    assert [label_set(r["label"]) for r in read] == [names[:2], names[2:], []]


# -- config and sources -----------------------------------------------------------------------------


def test_configs_compose_with_a_label_list_or_one_column(tmp_path, text_files):
    cfg = compose(tmp_path, *TINY, *text_overrides(text_files, "csv"), "task.threshold=0.3")
    assert list(cfg.data.source.label_column) == FRUITS
    assert cfg.task.threshold == 0.3 and cfg.task.separator == ","
    assert cfg.monitor.metric == "val/map"
    cfg = compose(tmp_path, *TINY, *text_overrides(text_files, "jsonl"), "task.separator=|")
    assert cfg.data.source.label_column == "labels" and cfg.task.separator == "|"
    cfg = compose(tmp_path, "model=mobilenetv2", "data=image_table", "data.source.train=a.csv")
    assert cfg.task.name == "multilabel" and cfg.data.source.image_column == "image"
    with pytest.raises(Exception, match="thresh"):
        compose(tmp_path, *TINY, *text_overrides(text_files), "task.thresh=0.3")
    with pytest.raises(Exception, match="threshold"):
        compose(tmp_path, *TINY, *text_overrides(text_files), "task.threshold=high")


def build_text_data(tmp_path, *overrides):
    from bakeoff.runs.assembly import build_data
    from bakeoff.utils.build import build

    cfg = compose(tmp_path, *TINY, *overrides)
    dm = build_data(cfg, build(cfg.model.backbone).preprocessing())
    dm.setup("fit")
    return dm


def test_list_column_and_01_columns_give_the_same_targets(tmp_path, text_files):
    from_list = build_text_data(tmp_path, *text_overrides(text_files, "jsonl"))
    from_flags = build_text_data(tmp_path, *text_overrides(text_files, "csv"))
    assert from_list.label_names == from_flags.label_names == FRUITS
    for split in ("train", "val", "test"):
        a, b = from_list.datasets[split], from_flags.datasets[split]
        assert a.targets == b.targets and len(a) == len(b)
    batch = from_list.probe_batch(4)
    assert batch["labels"].shape == (4, 3) and batch["labels"].dtype == torch.float32


def test_parquet_list_column(tmp_path, text_files):
    import pandas as pd

    for split in ("train", "test"):
        df = pd.read_json(text_files[f"{split}_jsonl"], lines=True)
        df.to_parquet(tmp_path / f"{split}.parquet")
    dm = build_text_data(
        tmp_path,
        "data=csv",
        "task=multilabel",
        f"data.source.train={tmp_path / 'train.parquet'}",
        f"data.source.test={tmp_path / 'test.parquet'}",
        "data.source.label_column=labels",
        "data.cache_dir=null",
    )
    reference = build_text_data(tmp_path, *text_overrides(text_files, "jsonl"))
    assert dm.datasets["test"].targets == reference.datasets["test"].targets


def test_unknown_test_label_is_a_data_error(tmp_path, text_files):
    bad = tmp_path / "test.jsonl"
    bad.write_text(json.dumps({"text": "a durian", "labels": ["durian"]}) + "\n")
    with pytest.raises(DataError, match="the test split.*'durian'"):
        build_text_data(tmp_path, *text_overrides(text_files, "jsonl"), f"data.source.test={bad}")


def test_hf_datasets_local_files(tmp_path, text_files):
    import inspect

    from bakeoff.data.sources import HFDatasetSource

    if "data_files" not in inspect.signature(HFDatasetSource).parameters:
        pytest.skip("HFDatasetSource has no data_files yet")
    dm = build_text_data(
        tmp_path,
        "data=hf",
        "task=multilabel",
        "data.source.path=json",
        f"+data.source.data_files={{train: {text_files['train_jsonl']}, "
        f"test: {text_files['test_jsonl']}}}",
        "data.source.label_column=labels",
        "data.cache_dir=null",
        f"paths.data_dir={tmp_path}",
    )
    reference = build_text_data(tmp_path, *text_overrides(text_files, "jsonl"))
    assert dm.label_names == FRUITS
    assert dm.datasets["test"].targets == reference.datasets["test"].targets


def test_hf_sequence_of_class_labels_keeps_the_names_and_order(monkeypatch):
    """GoEmotions-style `labels: Sequence(ClassLabel)`: ids become names, all names in order."""
    import datasets

    from bakeoff.data.sources import HFDatasetSource

    features = datasets.Features(
        {
            "text": datasets.Value("string"),
            "labels": datasets.Sequence(datasets.ClassLabel(names=["joy", "anger", "awe"])),
        }
    )
    ds = datasets.Dataset.from_dict(
        {"text": ["yay", "grr", "hm"], "labels": [[0], [1, 0], []]}, features=features
    )
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: ds)
    source = HFDatasetSource(path="go_emotions", text_column="text", label_column="labels")
    raw = source.load()
    task = make_task()
    names = task.label_names(raw["train"].labels, source.label_names)
    assert names == ["joy", "anger", "awe"]
    assert task.encode(raw["test"].labels, names, "the test split") == [
        [1, 0, 0],
        [1, 1, 0],
        [0, 0, 0],
    ]


def test_image_table_source(tmp_path):
    from bakeoff.data.image import ImageTableSource

    files = write_image_fixtures(tmp_path / "imgs", n_train=6, n_test=3)
    source = ImageTableSource(
        train=str(files["train"]),
        test=str(files["test"]),
        image_column="image",
        label_column=list(COLOURS),
    )
    raw = source.load()
    assert source.label_names == list(COLOURS)  # the columns' order, not sorted
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in raw["train"].items)
    assert len(raw["test"].items) == 3
    assert all(set(labels) <= set(COLOURS) for labels in raw["train"].labels)

    (tmp_path / "imgs" / "img" / "test_001.png").unlink()
    with pytest.raises(DataError, match="test_001.png"):
        source.load()
    with pytest.raises(DataError, match="image_column='path'"):
        ImageTableSource(
            train=str(files["train"]),
            test=str(files["test"]),
            image_column="path",
            label_column="x",
        ).load()


def test_image_batches_have_a_target_per_label(tmp_path):
    from bakeoff.data.image import ImageData, ImageTableSource
    from bakeoff.models.timm_backbone import TimmBackbone

    files = write_image_fixtures(tmp_path, n_train=8, n_test=4)
    source = ImageTableSource(
        train=str(files["train"]),
        test=str(files["test"]),
        image_column="image",
        label_column=list(COLOURS),
    )
    dm = ImageData(
        name="t",
        source=source,
        batch_size=4,
        eval_batch_size=4,
        num_workers=0,
        val_fraction=0.25,
        split_seed=0,
        preprocessing=TimmBackbone("mobilenetv2_100", pretrained=False).preprocessing(),
        task=make_task(),
        image_size=32,
    )
    dm.setup("fit")
    assert dm.label_names == list(COLOURS)
    batch = next(iter(dm.test_dataloader()))
    assert batch["pixel_values"].shape == (4, 3, 32, 32)
    assert batch["labels"].shape == (4, 3) and batch["labels"].dtype == torch.float32


# -- end to end -------------------------------------------------------------------------------------


THRESHOLD = 0.4


@pytest.fixture(scope="module")
def text_run(tmp_path_factory, text_files):
    from bakeoff.runs.train import run

    tmp = tmp_path_factory.mktemp("textrun")
    # a threshold below 0.5: this short run's probabilities cross it (F1 is not trivially 0)
    overrides = [*TINY, *text_overrides(text_files, "csv"), "logger=csv", "optim.lr=3e-3"]
    overrides += ["trainer.max_epochs=4", f"task.threshold={THRESHOLD}"]
    return tmp, run(compose(tmp, *overrides))


def test_text_run_record_matches_its_predictions(text_run):
    tmp, record = text_run
    check_record(record, 3, THRESHOLD)
    assert record["data"]["label_names"] == FRUITS
    assert record["metrics"]["test"]["f1_micro"] > 0
    check_against_predictions(record, tmp / "run", THRESHOLD)


def test_eval_reproduces_the_test_metrics(text_run, tmp_path):
    from bakeoff.runs.evaluate import evaluate

    tmp, record = text_run
    cfg = compose(
        tmp_path,
        f"ckpt_path={record['paths']['best_ckpt']}",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        config_name="eval",
    )
    result = evaluate(cfg)
    assert result["status"] == "completed"
    assert result["metrics"]["test"] == pytest.approx(record["metrics"]["test"], abs=1e-6)
    assert (tmp_path / "run" / "test_predictions.csv").read_text() == (
        tmp / "run" / "test_predictions.csv"
    ).read_text()


def test_predict_writes_label_sets(text_run, tmp_path):
    from bakeoff.runs.predict import predict

    _, record = text_run
    inputs = tmp_path / "new.csv"
    inputs.write_text("text\nan apple and a cherry\nplain old bread\n")
    out = tmp_path / "pred.csv"
    cfg = compose(
        tmp_path,
        f"ckpt_path={record['paths']['best_ckpt']}",
        f"input={inputs}",
        f"output={out}",
        "accelerator=cpu",
        config_name="predict",
    )
    predict(cfg)
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "input", "pred", *(f"prob_{n}" for n in FRUITS)]
    assert [r["input"] for r in rows] == ["an apple and a cherry", "plain old bread"]
    for r in rows:
        probs = {n: float(r[f"prob_{n}"]) for n in FRUITS}
        assert json.loads(r["pred"]) == [n for n in FRUITS if probs[n] > THRESHOLD]  # the ckpt's


@pytest.mark.slow
def test_text_sweep_eval_and_predict_from_the_cli(tmp_path, text_files):
    """`python train.py -m data=csv task=multilabel ...` (two learning rates), the leaderboard
    with paired significance on tp/fp/fn, eval.py on a checkpoint, bakeoff-predict."""
    cheap = [o for o in TINY if not o.startswith("trainer.max_epochs")]
    proc = run_cli(
        str(ROOT / "train.py"),
        "-m",
        *cheap,
        *text_overrides(text_files, "jsonl"),
        "trainer.max_epochs=3",
        "logger=csv",
        "optim.lr=3e-3,1e-2",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (sweep,) = (tmp_path / "logs" / "multiruns").iterdir()
    records = [json.loads(p.read_text()) for p in sorted(sweep.glob("*/results.json"))]
    assert len(records) == 2
    for record in records:
        check_record(record, 3)
        check_against_predictions(record, Path(record["paths"]["run_dir"]))
    with (sweep / "comparison" / "leaderboard.csv").open() as f:
        board = list(csv.DictReader(f))
    assert len(board) == 2 and sum(r["selected"] == "True" for r in board) == 1
    assert any("map" in column for column in board[0])
    assert "bakeoff leaderboard" in proc.stdout

    from bakeoff.results.comparison import main as compare_main

    out = tmp_path / "compared"
    assert compare_main([str(sweep), "--out", str(out)]) == 0
    assert (out / "leaderboard.md").is_file()

    best = records[0]
    proc = run_cli(
        str(ROOT / "eval.py"),
        f"ckpt_path={best['paths']['best_ckpt']}",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (eval_dir,) = (tmp_path / "logs" / "runs").iterdir()
    evaluated = json.loads((eval_dir / "results.json").read_text())
    assert evaluated["metrics"]["test"] == pytest.approx(best["metrics"]["test"], abs=1e-6)

    inputs = tmp_path / "new.jsonl"
    inputs.write_text('{"text": "cherry and banana"}\n{"text": "nothing here"}\n')
    out = tmp_path / "pred.csv"
    proc = run_cli(
        "-m",
        "bakeoff.app.cli",
        "predict",
        f"ckpt_path={best['paths']['best_ckpt']}",
        f"input={inputs}",
        f"output={out}",
        f"paths.log_dir={tmp_path}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["input"] for r in rows] == ["cherry and banana", "nothing here"]
    assert all(set(json.loads(r["pred"])) <= set(FRUITS) for r in rows)


@pytest.mark.slow
def test_image_run_on_mobilenetv2_from_the_cli(tmp_path, image_files):
    proc = run_cli(
        str(ROOT / "train.py"),
        "model=mobilenetv2",
        "data=image_table",
        f"data.source.train={image_files['train']}",
        f"data.source.test={image_files['test']}",
        f"data.source.label_column=[{','.join(COLOURS)}]",
        "data.image_size=64",
        "data.batch_size=16",
        "trainer.max_epochs=1",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "callbacks.progress_bar=null",
        "logger=csv",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run_dir,) = (tmp_path / "logs" / "runs").iterdir()
    record = json.loads((run_dir / "results.json").read_text())
    check_record(record, 3)
    assert record["data"]["label_names"] == list(COLOURS)
    assert record["data"]["n_test"] == 16
    check_against_predictions(record, run_dir)

    out = tmp_path / "pred.csv"
    proc = run_cli(
        "-m",
        "bakeoff.app.cli",
        "predict",
        f"ckpt_path={record['paths']['best_ckpt']}",
        f"input={image_files['test'].parent / 'img'}",
        f"output={out}",
        f"paths.log_dir={tmp_path}",
        "accelerator=cpu",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 64 and list(rows[0])[:3] == ["id", "input", "pred"]
    assert all(set(json.loads(r["pred"])) <= set(COLOURS) for r in rows)
