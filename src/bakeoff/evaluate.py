"""Test any bakeoff checkpoint: `python eval.py ckpt_path=...` writes its own results.json.

The checkpoint carries its run's resolved config, so the data, tokenizer and label order are
those it was trained with; `data=...` on the command line evaluates it on other data instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from bakeoff.errors import ConfigError
from bakeoff.train import close_loggers, recorded, test_into_record


def load_run_config(ckpt_path: str | Path) -> DictConfig:
    import torch

    path = Path(ckpt_path).expanduser()
    if not path.is_file():
        raise ConfigError(f"ckpt_path: checkpoint not found: {path.resolve()}")
    stored = torch.load(path, map_location="cpu", weights_only=True)
    if "bakeoff_config" not in stored:
        raise ConfigError(f"ckpt_path: {path} was not written by bakeoff (no run config inside)")
    return OmegaConf.create(stored["bakeoff_config"])


def eval_config(cfg: DictConfig) -> DictConfig:
    """The training run's config with this evaluation's trainer, logger, paths and data."""
    merged = load_run_config(cfg.ckpt_path)
    with open_dict(merged):
        merged.task_name, merged.train, merged.test = "eval", False, True
        merged.ckpt_path = str(Path(cfg.ckpt_path).expanduser().resolve())
        merged.seed = cfg.seed
        merged.trainer, merged.paths = cfg.trainer, cfg.paths
        merged.logger, merged.callbacks = cfg.logger, None
        if cfg.get("data") is not None:
            merged.data = cfg.data
    return merged


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    return recorded(eval_config(cfg), _test_checkpoint)


def _test_checkpoint(cfg: DictConfig, run_dir: Path, record: dict[str, Any]) -> None:
    import lightning as L

    from bakeoff.models.module import TaskModule
    from bakeoff.utils.build import build
    from bakeoff.utils.wandb import finish_wandb

    L.seed_everything(cfg.seed, workers=True)
    module = TaskModule.load_from_checkpoint(cfg.ckpt_path, map_location="cpu", weights_only=True)
    datamodule = build(
        cfg.data,
        preprocessing=module.backbone.preprocessing(),
        label_names=module.hparams.label_names,
    )
    datamodule.setup("test")
    counts = module.param_counts()
    record["data"].update(num_classes=datamodule.num_classes, **datamodule.sizes())
    record["model"].update(
        source=module.backbone.source,
        params_total=counts["total"],
        params_trainable=counts["trainable"],
    )
    record["paths"]["best_ckpt"] = cfg.ckpt_path
    loggers = [build(c) for c in (cfg.logger or {}).values() if c is not None]
    trainer = build(cfg.trainer, logger=loggers or False, default_root_dir=str(run_dir))
    try:
        test_into_record(trainer, module, datamodule, None, run_dir, record)
        close_loggers(trainer, loggers, record)
    finally:
        finish_wandb(loggers)
