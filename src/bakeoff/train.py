"""One fine-tuning run: instantiate from config, fit, test the best checkpoint, write the record."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from bakeoff.errors import BakeoffError
from bakeoff.results.record import write_record

log = logging.getLogger(__name__)


def resolved(cfg: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


def base_record(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Everything known before anything runs: a failed job still gets a full record."""
    from bakeoff.results.record import environment
    from bakeoff.utils.wandb import run_identity

    name, group, overrides = run_identity()
    return {
        "status": "failed",
        "error": None,
        "run_id": None,
        "name": name,
        "group": group,
        "seed": cfg.seed,
        "fold": cfg.data.get("fold"),
        "overrides": overrides,
        "model": {
            "name": cfg.model.name,
            "source": None,
            "params_total": None,
            "params_trainable": None,
            "flops_per_sample": None,
        },
        "data": {
            "name": cfg.data.name,
            "task": cfg.data.task,
            "num_classes": None,
            "n_train": None,
            "n_val": None,
            "n_test": None,
        },
        "monitor": {
            "metric": cfg.monitor.metric,
            "mode": cfg.monitor.mode,
            "best": None,
            "best_epoch": None,
        },
        "metrics": {"val": {}, "test": {}},
        "timing": {
            "fit_s": None,
            "test_s": None,
            "train_samples_per_s": None,
            "eval_samples_per_s": None,
            "startup_s": None,
        },
        "resources": {
            "device": None,
            "precision": str(cfg.trainer.precision),
            "world_size": None,
            "peak_rss_mb": None,
            "peak_gpu_mem_mb": None,
        },
        "env": environment(cwd=Path(__file__).parent),
        "paths": {"run_dir": str(run_dir), "best_ckpt": None, "predictions": None},
        "finetune": {"strategy": cfg.finetune.name, "trainable_history": []},
        "history": [],
        "config": None,
    }


def stage_metrics(metrics: dict[str, Any], stage: str) -> dict[str, float]:
    prefix = f"{stage}/"
    return {k[len(prefix) :]: float(v) for k, v in metrics.items() if k.startswith(prefix)}


def write_predictions(path: Path, outputs: list[dict], label_names: list[str]) -> None:
    import torch

    index = torch.cat([o["index"] for o in outputs]).tolist()
    labels = torch.cat([o["label"] for o in outputs]).tolist()
    probs = torch.cat([o["probs"] for o in outputs])
    preds = probs.argmax(-1).tolist()
    rows = sorted(zip(index, labels, preds, probs.tolist(), strict=True))
    header = ["index", "label", "pred"] + [f"prob_{n}" for n in label_names]
    lines = [",".join(_csv_cell(h) for h in header)]
    for i, y, p, pr in rows:
        lines.append(
            ",".join(
                [str(i), _csv_cell(label_names[y]), _csv_cell(label_names[p])]
                + [f"{v:.6g}" for v in pr]
            )
        )
    path.write_text("\n".join(lines) + "\n")


def _csv_cell(value: str) -> str:
    return f'"{value.replace(chr(34), chr(34) * 2)}"' if any(c in value for c in ',"\n') else value


def run(cfg: DictConfig) -> dict[str, Any]:
    """Fit + test one configuration in `paths.output_dir`. Always writes `results.json`."""
    return recorded(cfg, _fit_and_test)


def recorded(cfg: DictConfig, body: Callable[[DictConfig, Path, dict], None]) -> dict[str, Any]:
    """Runs `body(cfg, run_dir, record)`; the record is written whatever happens, then re-raised."""
    run_dir = Path(cfg.paths.output_dir)
    record = base_record(cfg, run_dir)
    try:
        record["config"] = resolved(cfg)
        body(cfg, run_dir, record)
        record["status"] = "completed"
        return record
    except KeyboardInterrupt:
        record["status"], record["error"] = "interrupted", "KeyboardInterrupt"
        raise
    except Exception as err:
        record["status"] = "failed"
        record["error"] = f"{type(err).__name__}: {err}"
        if not isinstance(err, BakeoffError):
            record["traceback"] = traceback.format_exc()
        raise
    finally:
        from bakeoff.utils.measure import peak_gpu_mem_mb, peak_rss_mb

        record["resources"]["peak_rss_mb"] = round(peak_rss_mb(), 1)
        record["resources"]["peak_gpu_mem_mb"] = peak_gpu_mem_mb()
        if record["config"] is None:
            record["config"] = OmegaConf.to_container(cfg, resolve=False)
        write_record(run_dir, record)


def _fit_and_test(cfg: DictConfig, run_dir: Path, record: dict[str, Any]) -> None:
    import lightning as L

    from bakeoff.utils.build import build as instantiate
    from bakeoff.utils.wandb import finish_wandb

    L.seed_everything(cfg.seed, workers=True)
    # Loggers first: a W&B run starts in the background while the data and model are built.
    loggers = [instantiate(c) for c in (cfg.logger or {}).values() if c is not None]
    try:
        _build_fit_test(cfg, run_dir, record, loggers)
    finally:
        finish_wandb(loggers)


def _build_fit_test(cfg: DictConfig, run_dir: Path, record: dict[str, Any], loggers: list) -> None:
    import lightning as L

    from bakeoff.models.finetune import FreezeSchedule
    from bakeoff.models.module import TaskModule
    from bakeoff.utils.build import build as instantiate
    from bakeoff.utils.measure import RunMeter, SpawnedFitState, forward_flops_per_sample

    backbone = instantiate(cfg.model.backbone)
    datamodule = instantiate(cfg.data, preprocessing=backbone.preprocessing())
    datamodule.setup("fit")
    record["data"].update(
        num_classes=datamodule.num_classes, **datamodule.sizes(), label_names=datamodule.label_names
    )
    # splits read back from the token cache (data.cache_dir) instead of tokenized again
    record["data"]["cached_splits"] = getattr(datamodule, "cached_splits", None)
    module = TaskModule.from_config(cfg, datamodule, backbone)
    module.run_config = record["config"]
    counts = module.param_counts()
    record["model"].update(source=backbone.source, params_total=counts["total"])
    record["model"]["flops_per_sample"] = forward_flops_per_sample(module, datamodule.probe_batch())

    meter = RunMeter(cfg.monitor.metric, cfg.monitor.mode)
    callbacks = [instantiate(c) for c in (cfg.callbacks or {}).values() if c is not None]
    spawned = SpawnedFitState(str(run_dir / ".fit_state.json"), meter)
    callbacks += [FreezeSchedule(), meter, spawned]
    if not loggers:  # LearningRateMonitor refuses to run without a logger; nothing to log to
        callbacks = [c for c in callbacks if type(c).__name__ != "LearningRateMonitor"]
    trainer: L.Trainer = instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False, default_root_dir=str(run_dir)
    )
    for lg in loggers:
        lg.log_hyperparams(record["config"])
    tic = time.perf_counter()
    if cfg.train:
        trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
        spawned.restore(module, datamodule)
    record["timing"]["fit_s"] = round(time.perf_counter() - tic, 3)
    record["timing"]["startup_s"] = meter.startup_s
    if meter.train_s > 0:  # rank 0's samples; every rank trains an equal shard at once
        rate = meter.train_samples / meter.train_s
        record["timing"]["train_samples_per_s"] = rate * trainer.world_size
    record["model"]["params_trainable"] = module.param_counts()["trainable"]
    record["finetune"]["trainable_history"] = module.trainable_history
    record["finetune"]["compiled_at_epoch"] = module.compiled_at_epoch
    record["history"] = meter.history
    record["monitor"].update(best=meter.best, best_epoch=meter.best_epoch)
    if meter.best_epoch is not None:
        best_row = next(r for r in meter.history if r["epoch"] == meter.best_epoch)
        record["metrics"]["val"] = stage_metrics(best_row, "val")
    record["data"]["padded_token_fraction"] = datamodule.padded_fraction()

    ckpt = trainer.checkpoint_callback
    best_path = ckpt.best_model_path if ckpt is not None and ckpt.best_model_path else None
    record["paths"]["best_ckpt"] = best_path
    if cfg.test:
        test_into_record(trainer, module, datamodule, best_path, run_dir, record)
    close_loggers(trainer, loggers, record)


def test_into_record(trainer, module, datamodule, ckpt_path, run_dir: Path, record: dict) -> None:
    """Test `ckpt_path` (None: the module as it is); metrics, speed and predictions go in the record."""
    tic = time.perf_counter()
    trainer.test(module, datamodule=datamodule, ckpt_path=ckpt_path or None, weights_only=True)
    test_s = time.perf_counter() - tic
    record["timing"]["test_s"] = round(test_s, 3)
    record["timing"]["eval_samples_per_s"] = len(datamodule.datasets["test"]) / test_s
    record["metrics"]["test"] = stage_metrics(trainer.callback_metrics, "test")
    if trainer.global_rank == 0 and module.test_outputs:
        pred_path = run_dir / "test_predictions.csv"
        write_predictions(pred_path, module.test_outputs, datamodule.label_names)
        record["paths"]["predictions"] = pred_path.name


def close_loggers(trainer, loggers: list, record: dict) -> None:
    from lightning.pytorch.loggers import WandbLogger

    record["resources"].update(
        device=str(trainer.strategy.root_device), world_size=trainer.world_size
    )
    final = {f"final/{s}/{k}": v for s in ("val", "test") for k, v in record["metrics"][s].items()}
    for lg in loggers:
        lg.log_metrics(final)
        if isinstance(lg, WandbLogger):
            record["run_id"] = lg.experiment.id
