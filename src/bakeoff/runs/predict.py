"""Predictions from a checkpoint for new inputs, as CSV: one row per input with the task's columns
(a class and its probabilities, a value, word-level tags, a label set)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from bakeoff.data.image import IMAGE_EXTENSIONS
from bakeoff.data.tables import READERS, read_table
from bakeoff.errors import DataError

TEXT_LINES = ".txt"  # one example per line (a token task: one sentence per line)
DEFAULT_TEXT_COLUMN = "text"  # a table's input column when the run's data names none (conll_files)


def read_inputs(spec: str, modality: str, column: str | None) -> tuple[list[Any], list[str]]:
    """(items the DataModule understands, a printable id per item) from a path or a string:
    a folder or file of images; a table (its `column`); a .txt file, one example per line (blank
    lines skipped); else the string itself."""
    path = Path(spec).expanduser()
    if modality == "image":
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        elif path.is_file():
            files = [path]
        else:
            raise DataError(f"input: no image file or folder at {path.resolve()}")
        if not files:
            raise DataError(f"input: no images ({', '.join(IMAGE_EXTENSIONS)}) under {path}")
        return [str(f) for f in files], [str(f) for f in files]
    if path.is_file() and path.suffix.lower() == TEXT_LINES:
        with path.open(encoding="utf-8") as f:
            texts = [line.rstrip("\r\n") for line in f if line.strip()]
        if not texts:
            raise DataError(f"input: {path} has no non-blank line (one example per line)")
        return texts, [str(i) for i in range(len(texts))]
    if path.is_file() and path.suffix.lower() in READERS:
        df = read_table(path, "input")
        if column not in df.columns:
            raise DataError(
                f"input_column='{column}' is not a column of {path}; its columns are: "
                f"{', '.join(map(str, df.columns))}"
            )
        texts = df[column].fillna("").astype(str).tolist()
        return texts, [str(i) for i in range(len(texts))]
    if looks_like_path(spec):  # a mistyped file name must not be classified as a text
        raise DataError(
            f"input: no file {path.resolve()} (input= is read as a file when it looks like a "
            f"path: no spaces and a {', '.join([*READERS, TEXT_LINES])} extension or a folder "
            "in it)"
        )
    return [spec], ["0"]  # a string to classify


def looks_like_path(spec: str) -> bool:
    """A string meant as a file: no whitespace, and a table/image extension or a `/` in it."""
    if not spec or any(c.isspace() for c in spec):
        return False
    suffix = Path(spec).suffix.lower()
    known = suffix in READERS or suffix == TEXT_LINES or suffix in IMAGE_EXTENSIONS
    return known or "/" in spec or "\\" in spec


def run_modality(run_cfg: DictConfig) -> str:
    """ "text" or "image": the backbone class's modality, read from the run's config (no weights)."""
    from hydra.utils import get_class

    target = run_cfg.model.get("backbone", {}).get("_target_") or run_cfg.model.get("_target_")
    try:
        backbone_class: Any = get_class(str(target))
        return str(backbone_class.modality or "text")
    except (ImportError, AttributeError, ValueError):
        return "text"


def predict(cfg: DictConfig) -> Path:
    import lightning as L

    from bakeoff.runs.assembly import build_run_parts
    from bakeoff.runs.common import write_rows
    from bakeoff.runs.evaluate import load_run_config

    run_cfg = load_run_config(cfg.ckpt_path)
    # the inputs are read and checked before the weights load: a wrong path fails in a second
    column = cfg.input_column or run_cfg.data.source.get("text_column") or DEFAULT_TEXT_COLUMN
    items, ids = read_inputs(cfg.input, run_modality(run_cfg), column)
    run_cfg.data.eval_batch_size = cfg.batch_size
    # not set up: no split is read, the loader serves the given inputs
    parts = build_run_parts(run_cfg, None, checkpoint=cfg.ckpt_path)
    module, datamodule = parts.module, parts.datamodule
    labels = list(module.hparams.label_names)
    if module.task.word_level:  # a token task labels words: split each text on whitespace
        items = [str(item).split() for item in items]
    trainer = L.Trainer(
        accelerator=cfg.accelerator, devices=1, logger=False, enable_progress_bar=False
    )
    gathered = trainer.predict(module, dataloaders=datamodule.predict_loader(items))
    rows = module.task.rows(gathered, labels, labeled=False)
    out = Path(cfg.output)
    write_rows(
        out,
        [
            {"id": i, "input": item, **{k: v for k, v in row.items() if k != "index"}}
            for i, item, row in zip(ids, items, rows, strict=True)
        ],
    )
    return out
