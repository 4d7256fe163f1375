"""The shape of `results.json`, typed: one definition that the run, the comparison and the tests use.

Every section is a dataclass; a run fills it as it goes (`Record.new`) and writes `to_dict()`.
`FIELDS` (the comparison's flat columns) and the schema test are derived from these classes.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ModelInfo:
    name: str | None = None
    source: str | None = None  # "hf" | "timm"
    params_total: int | None = None
    params_trainable: int | None = None
    flops_per_sample: float | None = None  # forward pass


@dataclass
class DataInfo:
    name: str | None = None
    task: str | None = None  # the task kind: classification, regression, token_classification ...
    num_classes: int | None = None  # len(label_names); 0 for regression
    label_names: list[str] | None = None
    n_train: int | None = None
    n_val: int | None = None
    n_test: int | None = None
    n_val_extra: dict[str, int] = field(default_factory=dict)  # extra validation sets by name
    cached_splits: int | None = None  # splits read back from the token cache
    # split -> reason (no_label, empty_text, unreadable_image) -> rows dropped (data.on_bad_rows)
    bad_rows: dict[str, dict[str, int]] = field(default_factory=dict)
    padded_token_fraction: float | None = None


@dataclass
class MonitorInfo:
    metric: str | None = None
    mode: str | None = None
    best: float | None = None
    best_epoch: int | None = None


@dataclass
class Timing:
    fit_s: float | None = None  # this launch's fit; a resumed run adds fit_s_earlier
    # The fit seconds of the run's earlier launches (paused or interrupted, resumed from its own
    # last.ckpt): fit_s + fit_s_earlier is the whole run's fit, what the leaderboard shows.
    fit_s_earlier: float | None = None
    test_s: float | None = None
    train_samples_per_s: float | None = None
    eval_samples_per_s: float | None = None
    startup_s: float | None = None


@dataclass
class Resources:
    device: str | None = None
    precision: str | None = None
    world_size: int | None = None
    peak_rss_mb: float | None = None  # the job's own peak (utils/job_memory.py)
    peak_rss_method: str | None = None  # how: VmHWM reset at the job's start, or sampled
    rss_at_start_mb: float | None = None  # what the process held when the job started
    peak_gpu_mem_mb: float | None = None  # torch's allocator peak, reset at the job's start


@dataclass
class Paths:
    run_dir: str | None = None
    best_ckpt: str | None = None
    predictions: str | None = None  # test predictions, relative to run_dir

    def run_path(self) -> Path:
        """`run_dir` as a Path: set when the record is made (runs.common.new_record)."""
        if self.run_dir is None:
            raise ValueError("the record's paths.run_dir is not set")
        return Path(self.run_dir)


@dataclass
class FinetuneInfo:
    strategy: str | None = None
    trainable_history: list[dict[str, int]] = field(default_factory=list)
    compiled_at_epoch: int | None = None


@dataclass
class Record:
    # "completed" | "failed" | "interrupted" | "paused" (budget.epochs spent; resume=true goes on)
    status: str = "failed"
    error: str | None = None
    traceback: str | None = None
    run_id: str | None = None
    name: str | None = None
    group: str | None = None
    seed: int | None = None
    fold: int | None = None
    overrides: list[str] = field(default_factory=list)
    epochs_trained: int | None = None  # epochs of trainer.max_epochs done (a paused run: so far)
    model: ModelInfo = field(default_factory=ModelInfo)
    data: DataInfo = field(default_factory=DataInfo)
    monitor: MonitorInfo = field(default_factory=MonitorInfo)
    # split -> metric -> value: "val" (best epoch), "val_<name>" (extra validation sets), "test"
    metrics: dict[str, dict[str, float]] = field(default_factory=lambda: {"val": {}, "test": {}})
    timing: Timing = field(default_factory=Timing)
    resources: Resources = field(default_factory=Resources)
    env: dict[str, Any] = field(default_factory=dict)
    paths: Paths = field(default_factory=Paths)
    finetune: FinetuneInfo = field(default_factory=FinetuneInfo)
    history: list[dict[str, Any]] = field(default_factory=list)  # one row per validated epoch
    config: dict[str, Any] | None = None  # the fully resolved run config

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# A comparison's flat per-job columns: the record's scalar fields, named by their field name,
# except where the bare name would be ambiguous in a table.
_TOP_LEVEL = ("run_id", "name", "group", "seed", "fold", "epochs_trained")
_SECTIONS = ("model", "data", "monitor", "timing", "resources")
_RENAMED = {
    "model.name": "model",
    "model.source": "source",
    "data.name": "dataset",
    "data.task": "task",
    "monitor.metric": "monitor_metric",
    "monitor.mode": "monitor_mode",
    "monitor.best": "monitor_best",
    "monitor.best_epoch": "best_epoch",
}


def _is_cell(annotation) -> bool:
    args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    return all(typing.get_origin(a) not in (list, dict) for a in args)


def flat_fields() -> dict[str, str]:
    """column -> dotted path in results.json, for every scalar field of the sections above."""
    hints = typing.get_type_hints(Record)
    out = {name: name for name in _TOP_LEVEL}
    for section in _SECTIONS:
        cls_hints = typing.get_type_hints(hints[section])
        for f in dataclasses.fields(hints[section]):
            if not _is_cell(cls_hints[f.name]):
                continue  # lists and dicts are not table cells
            path = f"{section}.{f.name}"
            out[_RENAMED.get(path, f.name)] = path
    return out
