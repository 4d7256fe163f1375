"""Predictions from a checkpoint for new inputs: label names and class probabilities, as CSV."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from bakeoff.data.sources import READERS
from bakeoff.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def read_inputs(spec: str, modality: str, column: str | None) -> tuple[list[Any], list[str]]:
    """(items the DataModule understands, a printable id per item) from a path or a string."""
    path = Path(spec).expanduser()
    if modality == "image":
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            files = [path]
        else:
            raise DataError(f"input: no image file or folder at {path.resolve()}")
        if not files:
            raise DataError(f"input: no images ({', '.join(IMAGE_SUFFIXES)}) under {path}")
        return [str(f) for f in files], [str(f) for f in files]
    if path.is_file() and path.suffix.lower() in READERS:
        df = READERS[path.suffix.lower()](path)
        if column not in df.columns:
            raise DataError(
                f"input_column='{column}' is not a column of {path}; its columns are: "
                f"{', '.join(map(str, df.columns))}"
            )
        texts = df[column].fillna("").astype(str).tolist()
        return texts, [str(i) for i in range(len(texts))]
    return [spec], ["0"]  # a string to classify


def predict(cfg: DictConfig) -> Path:
    import lightning as L
    import torch

    from bakeoff.evaluate import load_run_config
    from bakeoff.models.module import TaskModule
    from bakeoff.utils.build import build

    run_cfg = load_run_config(cfg.ckpt_path)
    module = TaskModule.load_from_checkpoint(cfg.ckpt_path, map_location="cpu", weights_only=True)
    labels = list(module.hparams.label_names)
    column = cfg.input_column or run_cfg.data.source.get("text_column")
    items, ids = read_inputs(cfg.input, module.backbone.modality, column)
    run_cfg.data.eval_batch_size = cfg.batch_size
    datamodule = build(
        run_cfg.data, preprocessing=module.backbone.preprocessing(), label_names=labels
    )
    trainer = L.Trainer(
        accelerator=cfg.accelerator, devices=1, logger=False, enable_progress_bar=False
    )
    probs = torch.cat(trainer.predict(module, dataloaders=datamodule.predict_loader(items)))
    out = Path(cfg.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "input", "pred", "prob", *[f"prob_{n}" for n in labels]])
        for i, item, row in zip(ids, items, probs.tolist(), strict=True):
            best = max(range(len(row)), key=row.__getitem__)
            writer.writerow([i, item, labels[best], f"{row[best]:.6g}", *[f"{p:.6g}" for p in row]])
    return out
