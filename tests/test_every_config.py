"""Every option of every config group composes (a config that cannot compose is caught here, not
by the first user who picks it), and every task option builds its Task."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf
from omegaconf.errors import InterpolationToMissingValueError

from tests.helpers.runs import CONF, compose

OPTIONS = sorted(
    (path.parent.name, path.stem)
    for path in CONF.glob("*/*.yaml")
    # hydra: Hydra's own node, composed with every config anyway; reference: published tables for
    # bakeoff-compare --reference, not a config group
    if path.parent.name not in ("hydra", "reference")
)


def test_the_option_list_is_not_empty():
    groups = {group for group, _ in OPTIONS}
    assert {"data", "model", "task", "finetune", "experiment", "trainer", "logger"} <= groups


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_option_composes_and_resolves(tmp_path: Path, group: str, option: str):
    cfg = compose(tmp_path, f"{group}={option}")
    if group in ("data", "model", "task", "finetune", "optim", "scheduler", "trainer"):
        assert cfg[group] is not None
    # Interpolations resolve; values left ??? for the user (and those pointing at them, such as
    # data=hf's name, the data set path) stay missing, which is allowed.
    try:
        OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    except InterpolationToMissingValueError as err:
        assert OmegaConf.is_missing(cfg, "data") or "Missing mandatory value" in str(err)
    assert cfg.monitor.metric.startswith("val")  # every combination monitors a val metric


@pytest.mark.parametrize("option", sorted(p.stem for p in (CONF / "task").glob("*.yaml")))
def test_task_option_builds_its_task(tmp_path: Path, option: str):
    from bakeoff.utils.build import build

    cfg = compose(tmp_path, f"task={option}")
    task = build(cfg.task)
    assert task.name == cfg.task.name == option
    metric = cfg.task.monitor.metric.split("/", 1)[1]
    assert metric in task.metric_names  # the default monitor is a metric the task logs


@pytest.mark.parametrize("option", sorted(p.stem for p in (CONF / "data").glob("*.yaml")))
def test_each_data_config_names_its_task_and_eval_accepts_it(tmp_path: Path, option: str):
    cfg = compose(tmp_path, f"data={option}")
    assert cfg.task.name  # set by the data config's defaults (or its experiment)
    compose(tmp_path, "ckpt_path=x.ckpt", f"data={option}", config_name="eval")
