"""Multi-label fixtures and checks: a JSONL with a list column and a CSV with 0/1 columns (text:
the labels are the fruits a sentence names), small PNGs with a CSV of 0/1 columns (images: the
colours of the stripes painted on them), and what a predictions file says.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest

from bakeoff.tasks.multilabel import MultiLabel

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
        # startup_s: none for a spawned run; fit_s_earlier: none for a run not resumed
        optional = ("startup_s", "fit_s_earlier")
        assert all(v is not None for k, v in record[section].items() if k not in optional), section
