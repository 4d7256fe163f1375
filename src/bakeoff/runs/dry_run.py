"""`python train.py dry_run=true`: the run as configured, checked and measured, but not trained.

It validates the config (bakeoff.checks.validate), builds the data and the model exactly as a
run does (bakeoff.runs.assembly.build_run_parts), and prints the resolved config, the size of
each split, the parameter counts and the forward FLOPs per example. No Trainer, logger or
checkpoint is made and no record is written, so a dry run never appears in a comparison; the
run dir Hydra made for it (its `.hydra/` and the log file) is removed at the end
(`remove_hydra_leftovers`): a dry run writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from bakeoff.errors import ConfigError


def dry_run(cfg: DictConfig) -> dict[str, Any]:
    """Validate, build and measure; print what a run would train on. Returns the measurements."""
    from bakeoff.checks.validate import validate_config

    validate_config(cfg)
    if cfg.model.get("backbone") is None:
        raise ConfigError(
            f"dry_run: model={cfg.model.name} is a scikit-learn baseline, with no backbone to "
            "build or measure (its fit takes seconds: run it without dry_run)"
        )
    print(OmegaConf.to_yaml(cfg, resolve=True), flush=True)
    facts = measure(cfg)
    print(describe(facts), flush=True)
    return facts


def measure(cfg: DictConfig) -> dict[str, Any]:
    """Split sizes, parameters (all, and those training in the first epoch) and forward FLOPs
    per example of the configured data and model."""
    from bakeoff.callbacks.measure import forward_flops_per_sample
    from bakeoff.runs.assembly import build_run_parts

    parts = build_run_parts(cfg)  # the run's own assembly, in its order
    datamodule, module = parts.datamodule, parts.module
    groups = module.backbone_groups
    first_epoch = module.strategy.trainable(0, len(groups))
    trainable = sum(p.numel() for g, on in zip(groups, first_epoch, strict=True) if on for p in g)
    trainable += sum(p.numel() for p in module.head.parameters())
    return {
        "model": cfg.model.name,
        "data": cfg.data.name,
        "sizes": {k[len("n_") :]: v for k, v in datamodule.sizes().items()},
        "labels": len(datamodule.label_names),  # 0 for regression (one number per example)
        "params_total": module.param_counts()["total"],
        "params_trainable_first_epoch": trainable,
        "flops_per_sample": forward_flops_per_sample(module, datamodule.probe_batch()),
    }


def describe(facts: dict[str, Any]) -> str:
    """Exact counts, each followed by its rounded form (22,566,146 params (22.6M))."""
    from bakeoff.utils.summary import count

    sizes = ", ".join(f"{split} {n:,}" for split, n in facts["sizes"].items())
    flops = facts["flops_per_sample"]
    total, trainable = facts["params_total"], facts["params_trainable_first_epoch"]
    return "\n".join(
        [
            "dry run: nothing trained, no checkpoint or results.json written",
            f"data {facts['data']}: {sizes} examples"
            + (f"; {facts['labels']} labels" if facts["labels"] else ""),
            f"model {facts['model']}: {total:,} params ({count(total)}), "
            f"{trainable:,} trainable in the first epoch ({count(trainable)})",
            "forward FLOPs per example: "
            + ("unknown" if flops is None else f"{flops:.4g} ({count(round(flops))})"),
        ]
    )


def remove_hydra_leftovers(run_dir: str | Path) -> None:
    """Close the log file Hydra opened in `run_dir` and remove the dir when it holds nothing but
    what Hydra wrote there (`.hydra/`, `<job>.log`): a dir with anything else is left alone."""
    import logging
    import shutil

    run_dir = Path(run_dir).resolve()
    root = logging.getLogger()
    for handler in list(root.handlers):
        path = getattr(handler, "baseFilename", None)
        if path and Path(path).resolve().parent == run_dir:
            root.removeHandler(handler)
            handler.close()
    if not run_dir.is_dir():
        return
    entries = list(run_dir.iterdir())
    if all(e.name == ".hydra" or (e.suffix == ".log" and e.is_file()) for e in entries):
        shutil.rmtree(run_dir, ignore_errors=True)
