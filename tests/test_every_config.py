"""Every option of every config group composes (a config that cannot compose is caught here, not
by the first user who picks it), every task option builds its Task, and every job of every
experiment (and of the published grids) passes the run's own config check."""

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


# -- every job of every experiment, validated ---------------------------------------------------
# As torchtune's tests/recipes/test_configs.py: each job an experiment runs is composed the way
# `python train.py -m experiment=<name>` composes it (its sweeper's params expanded), and the
# run's own check (`validate_config`) passes on it. Nothing is loaded: no weights, no data.
def experiment_jobs(name: str) -> list[list[str]]:
    """The jobs `python train.py -m experiment=<name>` runs: its sweeper's params expanded."""
    import itertools

    import yaml

    raw = yaml.safe_load((CONF / "experiment" / f"{name}.yaml").read_text())
    params = ((raw.get("hydra") or {}).get("sweeper") or {}).get("params") or {}
    axes = [[f"{k}={v}" for v in str(values).split(",")] for k, values in params.items()]
    return [[f"experiment={name}", *job] for job in itertools.product(*axes)]


def plan_jobs(name: str) -> list[list[str]]:
    """Every job of a published table's grid (bakeoff.results.reproduce, its --dry-run list)."""
    from bakeoff.results.reproduce import PLANS, sweeps

    return [job for sweep in sweeps(PLANS[name]) for job in sweep.jobs()]


# Overrides of plain values (no config group, no interpolation): setting them on a config
# composed with the same keys overridden is what Hydra's override does.
PLAIN_VALUES = ("seed", "optim.lr", "finetune.head_lr", "data.batch_size")


def number(value: str) -> int | float:
    """An override's number as Hydra reads it (5e-05 is a float; YAML 1.1 would keep a string)."""
    try:
        return int(value)
    except ValueError:
        return float(value)


def validate_jobs(tmp_path: Path, jobs: list[list[str]]) -> int:
    """Compose and validate every job; returns how many were validated. Jobs that differ only in
    plain values (PLAIN_VALUES: a grid's LR, batch size, seed) are composed once, with the first
    job's overrides (so the same keys count as given on the command line), and validated with
    each job's own values set."""
    from bakeoff.checks.validate import validate_config

    groups: dict[tuple[str, ...], list[list[str]]] = {}
    for job in jobs:
        rest = tuple(o for o in job if o.split("=", 1)[0] not in PLAIN_VALUES)
        groups.setdefault(rest, []).append(job)
    n = 0
    for group in groups.values():
        cfg = compose(tmp_path, *group[0])
        for job in group:
            for override in job:
                key, value = override.split("=", 1)
                if key in PLAIN_VALUES:
                    OmegaConf.update(cfg, key, number(value))
            try:
                validate_config(cfg)
            except Exception as err:
                raise AssertionError(f"python train.py {' '.join(job)}: {err}") from err
            n += 1
    return n


EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


def test_every_experiment_is_covered():
    assert {
        "glue_bert_roberta",
        "conll_ner",
        "vision_transfer",
        "pretraining_helps",
        "compare_text",
        "compare_vision",
    } <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_job_of_the_experiment_validates(tmp_path: Path, name: str):
    jobs = experiment_jobs(name)
    assert len(jobs) > 1  # every experiment is a sweep
    assert validate_jobs(tmp_path, jobs) == len(jobs)


def test_the_pretraining_helps_arms_are_its_jobs():
    arms = sorted(p.stem for p in (CONF / "experiment" / "pretraining_helps").glob("*.yaml"))
    swept = {o.split("=", 1)[1] for job in experiment_jobs("pretraining_helps") for o in job}
    assert set(arms) <= swept  # every arm file runs in the sweep


@pytest.mark.slow
@pytest.mark.parametrize("name", ["glue_bert_roberta", "conll_ner", "vision_transfer"])
def test_every_job_of_the_published_grid_validates(tmp_path: Path, name: str):
    """The reproduce scripts' grids (tasks x models x LRs x batch sizes x seeds)."""
    jobs = plan_jobs(name)
    assert validate_jobs(tmp_path, jobs) == len(jobs)


@pytest.mark.parametrize("option", sorted(p.stem for p in (CONF / "task").glob("*.yaml")))
def test_every_metric_of_the_task_has_its_direction(tmp_path: Path, option: str):
    """bakeoff.metric_info is where a metric's direction lives: it covers every metric a task
    kind offers, and agrees with the metric's own `higher_is_better`."""
    from bakeoff import metric_info
    from bakeoff.utils.build import build

    task = build(compose(tmp_path, f"task={option}").task)
    labels = ["O", "B-PER", "I-PER"] if task.word_level else ["neg", "pos"]
    for name, factory in task.available_metrics().items():
        assert name in metric_info.MODES, name
        higher = factory(labels, True).higher_is_better  # None where torchmetrics leaves it open
        if higher is not None:
            assert metric_info.mode(name) == ("max" if higher else "min"), name
    assert metric_info.lower_is_better("val/loss")
