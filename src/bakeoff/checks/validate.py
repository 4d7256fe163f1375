"""One pass over a composed train config before anything heavy loads (no weights, no data).

Each check returns the problems it finds, each worded `<key>: <what is wrong> (<choices or
hint>)`; `validate_config` runs them all and raises one `ConfigProblems` listing every problem,
which the entry points print as `error: ...` lines (exit 1, no traceback). What the checks read
is the config itself, the classes its `_target_`s name, and for a Hugging Face backbone its
config file (`max_position_embeddings`), never the weights.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from bakeoff.checks.model_fits_data import check_max_length, check_modality, target_class
from bakeoff.errors import BakeoffError, ConfigError
from bakeoff.metric_info import lower_is_better
from bakeoff.utils.overrides import overridden
from bakeoff.utils.strings import did_you_mean

log = logging.getLogger(__name__)

Problems = list[str]

# An LR above this is legal but is a typo far more often than a choice: warned, not refused
# (a run that diverges on it stops at its first non-finite loss).
SUSPICIOUS_LR = 10.0


class ConfigProblems(ConfigError):
    """Every problem the validation pass found; printed one `error:` line each."""

    def __init__(self, problems: Problems) -> None:
        self.problems = list(problems)
        super().__init__("\nerror: ".join(self.problems))


def validate_config(cfg: DictConfig) -> None:
    """Raise `ConfigProblems` if the composed train config cannot make a sensible run."""
    problems = check_missing(cfg)
    if problems:  # the other checks would read the missing values
        raise ConfigProblems(problems)
    # A scikit-learn baseline (model.estimator, no backbone) has no epochs, steps, schedule or
    # freezing, and checks its own monitored metric after its one fit (seconds).
    baseline = cfg.model.get("backbone") is None
    for check in BASELINE_CHECKS if baseline else CHECKS:
        problems += check(cfg)
    if problems:
        raise ConfigProblems(problems)


# -- helpers -------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int_at_least(
    cfg: DictConfig, key: str, low: int, what: str, optional: bool = False
) -> Problems:
    value = OmegaConf.select(cfg, key)
    if value is None and optional:
        return []
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        null = ", or null" if optional else ""
        return [f"{key}: {value} is not {what} (an integer >= {low}{null})"]
    return []


def _fraction(cfg: DictConfig, key: str, low_open: bool = True, high_open: bool = True) -> Problems:
    """A fraction in (0, 1) (or with closed ends); None is left to the option's meaning."""
    value = OmegaConf.select(cfg, key)
    if value is None:
        return []
    low_ok = _is_number(value) and (value > 0 if low_open else value >= 0)
    high_ok = _is_number(value) and (value < 1 if high_open else value <= 1)
    if not (low_ok and high_ok):
        interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        return [f"{key}: {value} is not a fraction in {interval}"]
    return []


def _max_epochs(cfg: DictConfig) -> int | None:
    """The run's epoch count when the config fixes one (None: bounded by steps or time)."""
    epochs = OmegaConf.select(cfg, "trainer.max_epochs")
    return epochs if isinstance(epochs, int) and epochs >= 1 else None


# -- checks --------------------------------------------------------------------------------------


def check_missing(cfg: DictConfig) -> Problems:
    """Mandatory values (`???`) nobody gave, e.g. data=csv without data.source.train."""
    return [f"{key}: no value given (set {key}=...)" for key in sorted(_missing_keys(cfg))]


def _missing_keys(node: DictConfig | ListConfig, prefix: str = "") -> list[str]:
    """Like `OmegaConf.missing_keys`, without resolving interpolations (which fail on the very
    values missing: data=hf names itself `${.source.path}`)."""
    keys: Iterable[Any] = node.keys() if isinstance(node, DictConfig) else range(len(node))
    missing = []
    for key in keys:
        full = f"{prefix}{key}"
        if OmegaConf.is_missing(node, key):
            missing.append(full)
        elif not OmegaConf.is_interpolation(node, key):
            child = node[key]
            if isinstance(child, (DictConfig, ListConfig)):
                missing += _missing_keys(child, f"{full}.")
    return missing


def check_schema_keys(cfg: DictConfig, prefix: str = "") -> Problems:
    """Keys a schema node does not have: added with `+key=value`, they would fail much later
    (e.g. `+trainer.max_epoch=1` at the Trainer's construction) or be silently ignored."""
    problems = []
    schema = OmegaConf.get_type(cfg)
    fields = (
        [f.name for f in dataclasses.fields(schema)] if dataclasses.is_dataclass(schema) else None
    )
    where = prefix.rstrip(".") or "the run config"
    for key in cfg:
        full = f"{prefix}{key!s}"
        if fields is not None and key not in fields:
            near = did_you_mean(str(key), fields)
            hint = f"did you mean {prefix}{near}?" if near else f"its keys: {', '.join(fields)}"
            problems.append(f"{full}: not a key of {where} ({hint})")
        elif not OmegaConf.is_missing(cfg, key) and isinstance(cfg[key], DictConfig):
            problems += check_schema_keys(cfg[key], f"{full}.")
    return problems


def check_optim(cfg: DictConfig) -> Problems:
    problems = []
    for key in ("optim.lr", "optim.head_lr", "finetune.head_lr"):
        lr = OmegaConf.select(cfg, key)
        if lr is None and key != "optim.lr":  # null: the backbone's LR, optim.head_lr
            continue
        if not _is_number(lr) or not math.isfinite(lr) or lr <= 0:
            problems.append(f"{key}: {lr} is not a learning rate (a finite number > 0, e.g. 5e-5)")
        elif lr > SUSPICIOUS_LR:
            log.warning("%s=%g is far above fine-tuning learning rates (a typo?)", key, lr)
    decay = cfg.optim.weight_decay
    if not _is_number(decay) or not math.isfinite(decay) or decay < 0:
        problems.append(f"optim.weight_decay: {decay} is not a weight decay (a number >= 0)")
    own = OmegaConf.select(cfg, "finetune.head_lr")
    if own is not None and overridden("optim.head_lr") and not overridden("finetune.head_lr"):
        # The strategy's own head LR replaces optim.head_lr: the value given would be ignored.
        name = OmegaConf.select(cfg, "finetune.name")
        problems.append(
            f"optim.head_lr: ignored under finetune={name}, whose head trains at its own "
            f"finetune.head_lr={own:g} (set finetune.head_lr instead)"
        )
    return problems


def check_data(cfg: DictConfig) -> Problems:
    from bakeoff.data.base import batch_size_problems

    data = cfg.data
    problems = batch_size_problems(data.batch_size, data.eval_batch_size)
    problems += _int_at_least(cfg, "data.num_workers", 0, "a number of DataLoader workers")
    for split in ("train", "val", "test"):
        problems += _int_at_least(
            cfg, f"data.limit_{split}", 1, "a number of examples", optional=True
        )
    source = data.get("source") or {}
    val_given = source.get("val") is not None or source.get("val_split") is not None
    if data.get("folds") is None and not val_given:  # the hold-out share is only used then
        problems += _fraction(cfg, "data.val_fraction")
    if "test_fraction" in source:
        problems += _fraction(cfg, "data.source.test_fraction")
    problems += check_folds(data.get("folds"), data.get("fold"))
    return problems


def check_folds(folds: Any, fold: Any) -> Problems:
    if folds is None:
        if fold is not None:
            return [f"data.fold: {fold} is set but data.folds is not (set data.folds=k for k-fold)"]
        return []
    if not isinstance(folds, int) or folds < 2:
        return [f"data.folds: {folds} is not a number of folds (an integer >= 2, or null)"]
    if not isinstance(fold, int) or not 0 <= fold < folds:
        return [
            f"data.fold: {fold} is not a fold of data.folds={folds} (choose from 0..{folds - 1})"
        ]
    return []


def check_trainer(cfg: DictConfig) -> Problems:
    trainer = cfg.trainer
    problems = []
    epochs, steps = trainer.max_epochs, trainer.max_steps
    if epochs is not None and epochs != -1 and epochs < 1:
        problems.append(
            f"trainer.max_epochs: {epochs} trains nothing (an integer >= 1; -1 with "
            "trainer.max_steps=N for a run bounded by steps)"
        )
    if steps != -1 and steps < 1:
        problems.append(f"trainer.max_steps: {steps} trains nothing (-1: no step limit, or >= 1)")
    min_epochs = trainer.min_epochs
    if min_epochs is not None and _max_epochs(cfg) is not None and min_epochs > epochs:
        problems.append(
            f"trainer.min_epochs: {min_epochs} is more than trainer.max_epochs={epochs} "
            "(lower it, or raise trainer.max_epochs)"
        )
    problems += _int_at_least(cfg, "budget.epochs", 1, "a number of epochs to train", optional=True)
    problems += _int_at_least(cfg, "trainer.accumulate_grad_batches", 1, "a number of batches")
    problems += _int_at_least(cfg, "trainer.log_every_n_steps", 1, "a number of steps")
    every = trainer.check_val_every_n_epoch
    problems += _int_at_least(
        cfg, "trainer.check_val_every_n_epoch", 1, "a number of epochs", optional=True
    )
    if isinstance(every, int) and _max_epochs(cfg) is not None and every > epochs:
        problems.append(
            f"trainer.check_val_every_n_epoch: {every} never validates in a run of "
            f"trainer.max_epochs={epochs}, so no checkpoint is selected on {cfg.monitor.metric} "
            f"(set it <= {epochs})"
        )
    # Only train: limit_val_batches=0 / limit_test_batches=0 are Lightning's way to skip those.
    problems += _batch_limit(cfg, "trainer.limit_train_batches")
    clip = trainer.gradient_clip_val
    if clip is not None and (not _is_number(clip) or not math.isfinite(clip) or clip < 0):
        problems.append(f"trainer.gradient_clip_val: {clip} is not a norm (a number >= 0, or null)")
    return problems


def _batch_limit(cfg: DictConfig, key: str) -> Problems:
    """Lightning's limit_*_batches: a count (int >= 1) or a share of the batches (0, 1]."""
    value = OmegaConf.select(cfg, key)
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, int) and value >= 1 or isinstance(value, float) and 0 < value <= 1:
        return []
    return [f"{key}: {value} trains on no batches (an integer >= 1, a fraction in (0, 1], or null)"]


def check_schedule(cfg: DictConfig) -> Problems:
    """The LR schedule is a function of the step out of the run's total: that total must be known."""
    from bakeoff.models.schedules import SCHEDULES

    sched = cfg.scheduler
    problems = []
    if sched.name not in SCHEDULES:
        problems.append(
            f"scheduler.name: '{sched.name}' is not a schedule (choose from {', '.join(SCHEDULES)})"
        )
    problems += _fraction(cfg, "scheduler.warmup_ratio", low_open=False)
    problems += _fraction(cfg, "scheduler.min_lr_ratio", low_open=False, high_open=False)
    trainer = cfg.trainer
    if trainer.max_epochs == -1 and trainer.max_steps == -1 and not trainer.fast_dev_run:
        problems.append(
            "trainer.max_epochs: -1 (no epoch limit) leaves the number of steps unknown, and the "
            f"LR schedule ({sched.name}: warm-up and decay over the run) needs it (set "
            "trainer.max_steps=N as well, or trainer.max_epochs>=1)"
        )
    return problems


def check_finetune(cfg: DictConfig) -> Problems:
    """The strategy's options; a warning for a milestone the run never reaches, which leaves
    layers frozen that the user may have meant to train."""
    from bakeoff.models.finetune import FreezeUnfreeze, Gradual

    ft = cfg.finetune
    problems = _fraction(cfg, "finetune.layer_decay", high_open=False)
    factor = ft.unfreeze_lr_factor
    if not _is_number(factor) or not math.isfinite(factor) or factor <= 0:
        problems.append(f"finetune.unfreeze_lr_factor: {factor} is not an LR factor (a number > 0)")
    strategy = target_class(ft.get("_target_"))
    epochs = _max_epochs(cfg)
    if strategy is not None and issubclass(strategy, FreezeUnfreeze):
        at = ft.unfreeze_at_epoch
        if not isinstance(at, int) or at < 0:
            problems.append(f"finetune.unfreeze_at_epoch: {at} is not an epoch (an integer >= 0)")
        elif epochs is not None and at >= epochs:
            fix = "finetune=linear_probe for a frozen backbone"
            _warn_unreached("finetune.unfreeze_at_epoch", at, epochs, "backbone", fix)
    if strategy is not None and issubclass(strategy, Gradual):
        milestones = list(ft.milestones or [])
        if not milestones:
            problems.append("finetune.milestones: empty (list at least one epoch, e.g. [1, 2])")
        for m in milestones:
            if not isinstance(m, int) or m < 0:
                problems.append(f"finetune.milestones: {m} is not an epoch (an integer >= 0)")
            elif epochs is not None and m >= epochs:
                fix = f"milestones below {epochs}"
                _warn_unreached("finetune.milestones", m, epochs, "layers", fix)
        problems += _int_at_least(
            cfg, "finetune.groups_per_step", 1, "a number of layer groups", optional=True
        )
    return problems


def _warn_unreached(key: str, epoch: int, epochs: int, what: str, fix: str) -> None:
    """A warning, not an error: a run may stop before its unfreeze epoch on purpose, to be
    continued with more epochs from its last.ckpt (the freeze state is a function of the epoch)."""
    log.warning(
        "%s: epoch %d is never reached in a run of trainer.max_epochs=%d (epochs 0..%d): the %s "
        "it unfreezes will not train in this run (set trainer.max_epochs>=%d, or %s)",
        key,
        epoch,
        epochs,
        epochs - 1,
        what,
        epoch + 1,
        fix,
    )


def check_task_and_monitor(cfg: DictConfig) -> Problems:
    """The task's options, and a monitored metric the task logs, watched in its direction."""
    from bakeoff.utils.build import build

    problems = _fraction(cfg, "model.head_dropout", low_open=False)
    problems += _fraction(cfg, "task.head_dropout", low_open=False)
    try:
        task = build(cfg.task)
    except BakeoffError as err:  # its own options: task.metrics, task.threshold ...
        return [*problems, str(err)]
    source = cfg.data.get("source") or {}
    val_sets = ["val", *(f"val_{k}" for k in (source.get("extra_val") or {}))]
    choices = [f"{s}/{m}" for s in val_sets for m in [*task.metric_names, "loss"]]
    metric, mode = cfg.monitor.metric, cfg.monitor.mode
    if metric not in choices:
        # a higher bar than for keys: the shared "val/" prefix alone makes names look alike
        near = did_you_mean(metric, choices, cutoff=0.8)
        hint = f"did you mean {near}? " if near else ""
        problems.append(
            f"monitor.metric: '{metric}' is not logged by task {task.name} "
            f"({hint}choose from {', '.join(choices)})"
        )
    if mode not in ("min", "max"):
        problems.append(f"monitor.mode: '{mode}' is not a direction (choose from min, max)")
    elif metric in choices:
        lower = lower_is_better(metric)
        if lower == (mode == "max"):
            right = "min" if lower else "max"
            better = "lower" if lower else "higher"
            problems.append(
                f"monitor.mode: '{mode}' would select the worst checkpoint on {metric}, where "
                f"{better} is better (set monitor.mode={right})"
            )
    return problems


CHECKS: tuple[Callable[[DictConfig], Problems], ...] = (
    check_schema_keys,
    check_optim,
    check_data,
    check_trainer,
    check_schedule,
    check_finetune,
    check_task_and_monitor,
    check_modality,
    check_max_length,
)
BASELINE_CHECKS: tuple[Callable[[DictConfig], Problems], ...] = (check_schema_keys, check_data)
