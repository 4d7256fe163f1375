"""Test any bakeoff checkpoint: `python eval.py ckpt_path=...` writes its own results.json.

The checkpoint carries its run's resolved config, so the data, task, tokenizer and label order
are those it was trained with; `data=...` on the command line evaluates it on other data instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from bakeoff.errors import ConfigError
from bakeoff.record.schema import Record
from bakeoff.runs.assembly import build_run_parts
from bakeoff.runs.common import (
    build_loggers,
    build_trainer,
    close_loggers,
    describe_data,
    describe_model,
    recorded,
    test_into_record,
)


def load_run_config(ckpt_path: str | Path) -> DictConfig:
    import torch

    path = Path(ckpt_path).expanduser()
    if not path.is_file():
        raise ConfigError(f"ckpt_path: checkpoint not found: {path.resolve()}")
    try:
        # mmap: only the config is read here; the weights stay on disk until the module loads
        stored = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # a text file, a truncated download, another framework's pickle
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ConfigError(
            f"ckpt_path: {path} is not a readable checkpoint ({type(err).__name__}: {first[:160]}); "
            "give a .ckpt from a run's checkpoints/ folder"
        ) from None
    if not isinstance(stored, dict) or "bakeoff_config" not in stored:
        raise ConfigError(f"ckpt_path: {path} was not written by bakeoff (no run config inside)")
    config = OmegaConf.create(stored["bakeoff_config"])
    assert isinstance(config, DictConfig)  # bakeoff stores the run config, a mapping
    return config


def eval_config(cfg: DictConfig) -> DictConfig:
    """The training run's config with this evaluation's trainer, logger, paths and data."""
    merged = load_run_config(cfg.ckpt_path)
    from bakeoff.checks.eval_check import check_task

    check_task(cfg, merged)  # another task kind's data: one line naming both, before loading
    with open_dict(merged):
        merged.task_name, merged.train, merged.test = "eval", False, True
        merged.ckpt_path = str(Path(cfg.ckpt_path).expanduser().resolve())
        merged.seed = cfg.seed
        merged.trainer, merged.paths = cfg.trainer, cfg.paths
        merged.logger, merged.callbacks = cfg.logger, None
        if cfg.get("data") is not None and cfg.data.get("_target_") is not None:
            merged.data = cfg.data  # data=<config>: another data set
        elif cfg.get("data") is not None:  # data.<key>=v alone: a change to the run's own data
            merged.data = OmegaConf.merge(merged.data, cfg.data)
    return merged


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    return test_checkpoint(eval_config(cfg))


@recorded()
def test_checkpoint(cfg: DictConfig, record: Record) -> None:
    """The run body of eval: the checkpoint's module tested on the data, into the record."""
    import lightning as L

    from bakeoff.loggers.wandb import finish_wandb

    L.seed_everything(cfg.seed, workers=True)
    parts = build_run_parts(cfg, None, checkpoint=cfg.ckpt_path)  # set up after the check
    module, datamodule = parts.module, parts.datamodule
    from bakeoff.checks.eval_check import check_labels

    # classes the checkpoint never learnt: named against the data's, before its own checks
    check_labels(cfg, cfg.task.name, module.hparams.label_names, datamodule._load_splits())
    datamodule.setup("test")
    describe_data(record, datamodule)
    counts = module.param_counts()
    describe_model(record, parts.backbone.source, counts["total"], counts["trainable"])
    record.paths.best_ckpt = cfg.ckpt_path
    loggers = build_loggers(cfg)
    run_dir = record.paths.run_path()
    trainer = build_trainer(cfg, run_dir, loggers)
    try:
        test_into_record(trainer, module, datamodule, None, run_dir, record)
        close_loggers(trainer, loggers, record)
    finally:
        finish_wandb(loggers)
