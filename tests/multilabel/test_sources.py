"""Multi-label classification: configs and sources (list columns, 0/1 columns, Parquet, HF, images)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bakeoff.errors import DataError
from tests.helpers.multilabel import (
    COLOURS,
    FRUITS,
    make_task,
    text_overrides,
    write_image_fixtures,
)
from tests.helpers.runs import TINY, compose

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
