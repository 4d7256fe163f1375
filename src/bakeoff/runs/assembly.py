"""The one assembly of a run: task, data, backbone and module, built in one order.

Train, eval, the dry run, the classical baselines and the benchmark all get their parts from
`build_run_parts`, so they read, check and feed the data the same way:

1. the Task (`cfg.task`), built once and handed to the data and the module;
2. the DataModule, its data read and checked (`read()`) before any weights load;
3. the backbone (or, for a scikit-learn baseline, its estimator), whose preprocessing (tokenizer,
   image transforms) the data takes;
4. the data set up for the stage (tokenized, split);
5. the TaskModule, for the labels of the set-up data.

Eval starts from a checkpoint instead: the module (its backbone and Task) comes from there, and
the data is fed the way that model was trained (its preprocessing, its class order).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig


@dataclass
class RunParts:
    task: Any  # bakeoff.tasks.Task
    datamodule: Any  # a TaskData set up for the stage
    backbone: Any = None  # a Backbone; None for a scikit-learn baseline or data only
    module: Any = None  # the TaskModule; None where not asked for
    estimator: Any = None  # a classical baseline's scikit-learn estimator (model.estimator)


def build_run_parts(
    cfg: DictConfig,
    stage: str | None = "fit",
    *,
    model: bool = True,
    preprocessing: Any = None,
    datamodule: Any = None,
    checkpoint: str | Path | None = None,
) -> RunParts:
    """The parts of the run `cfg` describes, built in the order the module docstring gives.

    `stage`: what the data is set up for (None: not set up; predict feeds its own inputs).
    `model=False`: the data only (fed by `preprocessing`, e.g. a bare tokenizer), no weights.
    `datamodule`: an already set-up DataModule to build the model for (the benchmark's contenders
    share one); its Task is the run's. `checkpoint`: eval's module and Task from a checkpoint.
    """
    from bakeoff.utils.build import build

    if checkpoint is not None:
        return _from_checkpoint(cfg, checkpoint, stage)
    if datamodule is not None:
        task = datamodule.task
    else:
        task = build(cfg.task)
        datamodule = build_data(cfg, preprocessing, task)
        datamodule.read()  # the data's first read and all its checks, before any weights load
    parts = RunParts(task=task, datamodule=datamodule)
    if cfg.model.get("estimator") is not None:  # a scikit-learn baseline: no backbone
        parts.estimator = build(cfg.model.estimator) if model else None
    elif model:
        from bakeoff.models.module import TaskModule

        parts.backbone = build(cfg.model.backbone)
        if datamodule.preprocessing is None:
            datamodule.preprocessing = parts.backbone.preprocessing()
    if stage is not None:
        datamodule.setup(stage)
    if parts.backbone is not None:
        parts.module = TaskModule.from_config(cfg, datamodule, parts.backbone)
    return parts


def build_data(cfg: DictConfig, preprocessing: Any = None, task: Any = None):
    """The run's DataModule (not read yet), fed by `preprocessing` and the run's Task (built from
    `cfg.task` when not given): what `build_run_parts` starts from, and what tests of the data
    alone build."""
    from bakeoff.utils.build import build

    task = build(cfg.task) if task is None else task
    if cfg.model.get("estimator") is not None:
        from bakeoff.models.classical import text_data

        return text_data(cfg, task)  # the texts as they are, for scikit-learn
    return build(cfg.data, preprocessing=preprocessing, task=task)


def _from_checkpoint(cfg: DictConfig, checkpoint: str | Path, stage: str | None) -> RunParts:
    from bakeoff.models.module import TaskModule
    from bakeoff.utils.build import build

    # weights_only load; the module rebuilds its backbone and Task from the checkpoint's config
    module = TaskModule.load_from_checkpoint(checkpoint, map_location="cpu", weights_only=True)
    datamodule = build(
        cfg.data,
        preprocessing=module.backbone.preprocessing(),
        task=module.task,
        label_names=module.hparams["label_names"],
    )
    if stage is not None:
        datamodule.setup(stage)
    return RunParts(module.task, datamodule, backbone=module.backbone, module=module)
