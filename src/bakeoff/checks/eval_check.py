"""Eval checks the checkpoint against the data before testing: `python eval.py ckpt_path=...
data=...` with data of another task kind, or with labels the checkpoint never learnt, is one line
naming both sides (`ckpt task regression vs data=amazon_reviews classification`), instead of a
label error about the data's own splits.

Only the split that eval tests is read for the label check (the test split): data that the
checkpoint can test needs no train split that fits it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig

from bakeoff.errors import ConfigError

SCALAR_LABELS = ("classification", "pair_classification")  # one class name per row
SHOWN = 5


def check_task(eval_cfg: DictConfig, run_cfg: DictConfig) -> None:
    """The task kind the eval's `data=` names (its data config sets it) is the checkpoint's."""
    if eval_cfg.get("data") is None or eval_cfg.get("task") is None:
        return
    ckpt_task, data_task = run_cfg.task.name, eval_cfg.task.name
    if ckpt_task != data_task:
        raise ConfigError(
            f"ckpt task {ckpt_task} vs data={_data_name(eval_cfg)} {data_task}: "
            f"{eval_cfg.ckpt_path} was trained for {ckpt_task}; test it on {ckpt_task} data "
            "(another data=..., or task=... where the data fits it)"
        )


def check_labels(eval_cfg: DictConfig, task_name: str, label_names: Sequence[str], raw) -> None:
    """Every class of the test split is one the checkpoint knows (classification kinds)."""
    if task_name not in SCALAR_LABELS or "test" not in raw:
        return
    known = {str(n) for n in label_names}
    unknown = sorted({str(v) for v in raw["test"].labels} - known)
    if unknown:
        raise ConfigError(
            f"ckpt labels {_short(sorted(known))} vs data={_data_name(eval_cfg)} test labels "
            f"{_short(unknown)} that the checkpoint does not know "
            f"({raw['test'].path or 'the test split'}): test it on data with its classes"
        )


def _data_name(cfg: DictConfig) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.select(cfg, "data.name", throw_on_resolution_failure=False) or "?"


def _short(names: list[str]) -> str:
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return "[" + ", ".join(names[:SHOWN]) + "]" + more
