"""The structured-config schema: types and allowed keys of every config group.

Registered in Hydra's ConfigStore; `conf/train.yaml` starts from `train_schema` and each group
file from its `/schema/<group>/...` node, so an unknown key or a wrong type fails at compose time
with Hydra's message naming the key. Values live in the YAML files (the single source of
truth); defaults here only mirror them so that a group file may leave a key out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

# The checkout's config dir (bakeoff is installed editable): Hydra apps and compose read it.
CONF_DIR = str(Path(__file__).resolve().parents[2] / "conf")


@dataclass
class DataBase:
    _target_: str = MISSING
    name: str = MISSING
    source: Any = MISSING
    batch_size: int = 32
    eval_batch_size: int = 64
    num_workers: int = 0
    pin_memory: bool | None = None
    val_fraction: float = 0.1
    split_seed: int = 0  # the split never depends on the run's seed
    folds: int | None = None
    fold: int | None = None
    limit_train: int | None = None
    limit_val: int | None = None
    limit_test: int | None = None
    # rows without a label, with an empty text or an undecodable image: drop (counted, logged,
    # recorded as data.bad_rows in results.json) or error (the run fails naming file and lines)
    on_bad_rows: str = "drop"


@dataclass
class TextDataConfig(DataBase):
    max_length: int | None = 128
    group_by_length: bool = False
    cache_dir: str | None = None  # tokenized splits, shared by the jobs of a sweep


@dataclass
class ImageDataConfig(DataBase):
    image_size: int | None = None  # None: the backbone's pretrained input size
    augment: bool = True


@dataclass
class TaskMonitor:
    metric: str = MISSING
    mode: str = "max"


@dataclass
class TaskConfig:
    """A task kind (conf/task/): the data config picks it, an experiment may override it."""

    _target_: str = MISSING
    name: str = MISSING
    metrics: list[str] = MISSING
    monitor: TaskMonitor = field(default_factory=TaskMonitor)
    head_dropout: float | None = None  # None: the model's head_dropout


@dataclass
class ClassificationTaskConfig(TaskConfig):
    positive_label: str | None = None  # the class f1/precision/recall are about (None: the last)


@dataclass
class MultiLabelTaskConfig(TaskConfig):
    threshold: float = 0.5  # a label is predicted when its sigmoid probability is above this
    separator: str = ","  # splits labels written as one string ("a,b"; "" is no label)


@dataclass
class TokenTaskConfig(TaskConfig):
    """Token classification (NER): the tag scheme and whether malformed sequences are errors."""

    scheme: str = "iob2"  # iob2 (= bio) or iob1
    strict: bool = False  # true: an I-X not continuing an X entity (IOB2) fails with file:line


@dataclass
class ModelConfig:
    name: str = MISSING
    backbone: Any = MISSING  # adapter kwargs with _target_ (HFBackbone, TimmBackbone)
    # A classical baseline (TF-IDF + LR, majority): a scikit-learn estimator with _target_,
    # fitted instead of a backbone (bakeoff.models.classical); its backbone is null.
    estimator: Any = None
    head_dropout: float = 0.0  # dropout before the task's head (the task builds the head)
    compile: bool = False
    # torch.compile keyword arguments, e.g. model.compile_options={mode: max-autotune}
    compile_options: Any = None
    # Model-card facts the planning tools read before anything loads (the GPU-hour estimate of
    # bakeoff.results.reproduce): parameters, and for an image model the multiply-adds per
    # 224 px image in billions. null: not stated (the estimate then asks for it).
    params: float | None = None
    gmacs: float | None = None


@dataclass
class FinetuneConfig:
    _target_: str = MISSING
    name: str = MISSING
    unfreeze_at_epoch: int | None = None  # freeze_unfreeze
    milestones: list[int] = field(default_factory=list)  # gradual
    groups_per_step: int | None = None  # gradual; None spreads groups evenly over milestones
    unfreeze_lr_factor: float = 1.0  # LR multiplier for backbone groups that start frozen
    layer_decay: float = 1.0  # 1.0: no decay; combines with every strategy
    train_bn: bool = False  # keep frozen BatchNorm layers in eval (running stats fixed)
    # Backbone frozen for the whole run and deterministic inputs: compute its features once per
    # split and train the head on them (bakeoff.models.feature_cache)
    cache_features: bool = True
    # The head's LR under this strategy, in place of optim.head_lr (None: optim.head_lr). A probe
    # trains the head alone and wants a larger one than a head beside a training backbone.
    head_lr: float | None = None


@dataclass
class OptimConfig:
    name: str = MISSING
    lr: float = MISSING  # backbone learning rate (top layer group when layer_decay < 1)
    head_lr: float | None = None  # None: same as lr
    weight_decay: float = 0.0
    optimizer: Any = MISSING  # torch.optim class with _partial_: true


@dataclass
class SchedulerConfig:
    name: str = MISSING
    warmup_ratio: float = 0.0
    min_lr_ratio: float = 0.0


@dataclass
class TrainerConfig:
    _target_: str = "lightning.Trainer"
    accelerator: str = "auto"
    devices: Any = "auto"
    strategy: Any = "auto"
    num_nodes: int = 1
    precision: Any = "32-true"
    max_epochs: int | None = 2
    min_epochs: int | None = None
    max_steps: int = -1
    max_time: str | None = None
    gradient_clip_val: float | None = None
    accumulate_grad_batches: int = 1
    log_every_n_steps: int = 50
    val_check_interval: Any = None
    check_val_every_n_epoch: int | None = 1
    num_sanity_val_steps: int = 0
    limit_train_batches: Any = None
    limit_val_batches: Any = None
    limit_test_batches: Any = None
    fast_dev_run: Any = False
    overfit_batches: Any = 0.0
    deterministic: Any = False
    benchmark: bool | None = None
    enable_progress_bar: bool = True
    enable_model_summary: bool = False
    default_root_dir: str | None = None


@dataclass
class MonitorConfig:
    metric: str = MISSING  # conf/train.yaml: the task's own default (task.monitor)
    mode: str = "max"


@dataclass
class BudgetConfig:
    # train at most this many epochs of the trainer.max_epochs horizon, then pause (null: all)
    epochs: int | None = None


@dataclass
class RunConfig:
    """What every entry point that runs a Trainer has: seed, trainer, loggers, paths."""

    task_name: str = MISSING
    seed: int = 42
    tags: list[str] = field(default_factory=list)
    trainer: TrainerConfig = MISSING
    logger: Any = None
    paths: Any = MISSING
    extras: Any = None


@dataclass
class TrainConfig(RunConfig):
    task_name: str = "train"
    train: bool = True
    test: bool = True
    ckpt_path: str | None = None  # resume training from this checkpoint
    name: str | None = None  # fixed run / sweep dir (logs/runs/<name>, logs/multiruns/<name>/<n>)
    resume: bool = False  # skip completed jobs, resume the others from their last.ckpt
    dry_run: bool = False  # validate, build and measure (sizes, params, FLOPs); train nothing
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    task: Any = MISSING
    data: Any = MISSING
    model: ModelConfig = MISSING
    finetune: FinetuneConfig = MISSING
    optim: OptimConfig = MISSING
    scheduler: SchedulerConfig = MISSING
    callbacks: Any = None


@dataclass
class RankConfig(TrainConfig):
    """bakeoff-rank (conf/rank.yaml): a run's config per backbone, plus the ranking's options."""

    task_name: str = "rank"
    rank: Any = None


@dataclass
class EvalConfig(RunConfig):
    task_name: str = "eval"
    ckpt_path: str = MISSING
    task: Any = None  # the checkpoint's task is used; a data config names its own here
    data: Any = None


@dataclass
class PredictConfig:
    task_name: str = "predict"
    ckpt_path: str = MISSING
    input: str = MISSING  # a table file, an image folder or file, or one text string
    input_column: str | None = None  # None: the text column the model was trained on
    output: str = MISSING
    batch_size: int = 64
    accelerator: str = "auto"
    paths: Any = MISSING


def register_configs() -> None:
    cs = ConfigStore.instance()
    cs.store(name="train_schema", node=TrainConfig)
    cs.store(name="eval_schema", node=EvalConfig)
    cs.store(name="rank_schema", node=RankConfig)
    cs.store(name="predict_schema", node=PredictConfig)
    cs.store(group="schema/data", name="text", node=TextDataConfig)
    cs.store(group="schema/data", name="image", node=ImageDataConfig)
    cs.store(group="schema/task", name="base", node=TaskConfig)
    cs.store(group="schema/task", name="classification", node=ClassificationTaskConfig)
    cs.store(group="schema/task", name="token_classification", node=TokenTaskConfig)
    cs.store(group="schema/task", name="multilabel", node=MultiLabelTaskConfig)
    cs.store(group="schema", name="model", node=ModelConfig)
    cs.store(group="schema", name="finetune", node=FinetuneConfig)
    cs.store(group="schema", name="optim", node=OptimConfig)
    cs.store(group="schema", name="scheduler", node=SchedulerConfig)
    cs.store(group="schema", name="trainer", node=TrainerConfig)


def register_resolvers() -> None:
    import os

    from omegaconf import OmegaConf

    # Process id in hex: with the time stamp it makes run dirs unique across concurrent starts.
    # The launch directory. Not ${hydra:runtime.cwd}: the sweeper resolves hydra.sweep.dir (and so
    # paths.log_dir) before Hydra sets HydraConfig, and jobs never chdir (hydra.job.chdir=false).
    if not OmegaConf.has_resolver("bakeoff_cwd"):
        OmegaConf.register_new_resolver("bakeoff_cwd", os.getcwd)
    if not OmegaConf.has_resolver("bakeoff_uid"):
        OmegaConf.register_new_resolver("bakeoff_uid", lambda: f"{os.getpid():x}")
    if not OmegaConf.has_resolver("bakeoff_dirname"):
        OmegaConf.register_new_resolver("bakeoff_dirname", run_dir_name)
    if not OmegaConf.has_resolver("bakeoff_sqlite"):
        OmegaConf.register_new_resolver("bakeoff_sqlite", sqlite_url)


def run_dir_name(name: str | None, stamp: str) -> str:
    """A named run's dir is its name (the same command finds it again); else time stamp + pid."""
    import os

    return str(name) if name else f"{stamp}_{os.getpid():x}"


def sqlite_url(path: str) -> str:
    """SQLAlchemy URL of a sqlite file, its folder made first (sqlite will not make it)."""
    import os

    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return f"sqlite:///{path}"
