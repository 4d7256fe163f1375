"""Transferability scores of one backbone from its frozen features: LogME, kNN and a linear probe.

Each score reads the pooled features of the train and val splits (computed once per split, see
features.py) and returns a number where higher is better, with its compute time:
- `logme`: LogME (logme.py) of the train features for the train targets (one-hot classes, or the
  regression values);
- `knn`: a k-nearest-neighbour predictor (cosine distance) fitted on train, its val metric;
- `probe`: a scikit-learn logistic regression (classification) or ridge (regression) on the
  standardised train features, its val metric.
The kNN and probe metrics are the task's own monitored metric (e.g. val/f1_macro), computed by the
task's own metric collection, so they read like a run's `val/...` number.

Task kinds: classification and pair classification (class targets) and regression (values).
Multilabel and token classification have no score here: `check_task` says so in one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bakeoff.errors import ConfigError, DataError

SCORES = ("logme", "knn", "probe")
SUPPORTED_TASKS = ("classification", "pair_classification", "regression")


@dataclass
class Split:
    """A split's features (n x D, float32) and its targets (class ids or values)."""

    features: np.ndarray
    targets: np.ndarray


def task_kind(task) -> str:
    """ "classes" or "values": what the targets of a task (object or class) are; other kinds get
    one clear line."""
    from bakeoff.tasks.classification import Classification
    from bakeoff.tasks.regression import Regression

    cls = task if isinstance(task, type) else type(task)
    if issubclass(cls, Regression):
        return "values"
    if issubclass(cls, Classification):  # PairClassification is one
        return "classes"
    name = getattr(task, "name", None) or cls.__name__
    raise ConfigError(
        f"bakeoff-rank: task={name} is not supported: transferability scores here need one "
        f"target per example ({', '.join(SUPPORTED_TASKS)}); multilabel and token "
        "classification are not scored"
    )


def check_task(task_config) -> None:
    """The task kind, from the config's `_target_` class (nothing built or imported beyond it)."""
    from bakeoff.checks.model_fits_data import target_class

    cls = target_class(task_config.get("_target_"))
    if cls is not None:
        try:
            task_kind(cls)
        except ConfigError:
            raise ConfigError(
                f"bakeoff-rank: task={task_config.get('name')} is not supported: transferability "
                f"scores here need one target per example ({', '.join(SUPPORTED_TASKS)}); "
                "multilabel and token classification are not scored"
            ) from None


def task_metric(
    task, label_names: Sequence[str], metric: str, outputs: np.ndarray, targets
) -> float:
    """The task's own `metric` (e.g. "f1_macro") of `outputs` (class probabilities or values)."""
    import torch

    collection = task.metrics(list(label_names), validate=True)
    if metric not in collection:
        raise ConfigError(
            f"rank.metric: '{metric}' is not one of task {task.name}'s metrics "
            f"({', '.join(collection.keys())})"
        )
    out = torch.as_tensor(np.asarray(outputs), dtype=torch.float32)
    target = task.collate_labels(list(targets.tolist()), None)
    preds, target = task.metric_inputs(out, target)
    value = collection[metric](preds, target)
    return float(value)


def _timed(fn: Callable[[], float]) -> tuple[float, float]:
    tic = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - tic


def logme_score(train: Split, kind: str) -> float:
    from bakeoff.rank.logme import logme

    return logme(train.features, train.targets, regression=kind == "values")


def _normalised(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def knn_outputs(train: Split, val: Split, kind: str, k: int, n_classes: int) -> np.ndarray:
    """Val predictions of a cosine kNN: neighbour class frequencies, or neighbour mean value."""
    if k < 1:
        raise ConfigError(f"rank.knn_k must be >= 1, got {k}")
    if len(train.targets) < k:
        raise DataError(
            f"bakeoff-rank: the train split has {len(train.targets)} examples, fewer than the "
            f"kNN's rank.knn_k={k}: lower rank.knn_k or give more data (data.limit_train)"
        )
    a, b = (
        _normalised(train.features.astype(np.float32)),
        _normalised(val.features.astype(np.float32)),
    )
    nearest = np.empty((len(b), k), dtype=np.int64)
    for start in range(0, len(b), 1024):  # similarity in blocks: memory stays bounded
        sims = b[start : start + 1024] @ a.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        nearest[start : start + 1024] = part
    neighbours = train.targets[nearest]
    if kind == "values":
        return neighbours.astype(np.float64).mean(axis=1)[:, None]
    counts = np.zeros((len(b), n_classes))
    for c in range(n_classes):
        counts[:, c] = (neighbours == c).sum(axis=1)
    return counts / k


def probe_outputs(train: Split, val: Split, kind: str, options: dict[str, Any], n_classes: int):
    """Val predictions of a linear model on standardised features (sklearn)."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "values":
        model = make_pipeline(StandardScaler(), Ridge(alpha=float(options.get("ridge_alpha", 1.0))))
        model.fit(train.features, train.targets.astype(np.float64))
        return model.predict(val.features)[:, None]
    model = make_pipeline(
        StandardScaler(),
        LogisticRegression(
            C=float(options.get("C", 1.0)), max_iter=int(options.get("max_iter", 1000))
        ),
    )
    model.fit(train.features, train.targets)
    probs = np.zeros((len(val.targets), n_classes))
    probs[:, model.classes_.astype(int)] = model.predict_proba(val.features)
    return probs


def score_all(
    task,
    label_names: Sequence[str],
    train: Split,
    val: Split,
    metric: str,
    scores: Sequence[str] = SCORES,
    knn_k: int = 20,
    probe: dict[str, Any] | None = None,
) -> dict[str, dict[str, float]]:
    """{score: {"value", "seconds"}} for each of `scores` (higher is better for every one)."""
    unknown = [s for s in scores if s not in SCORES]
    if unknown:
        raise ConfigError(f"rank.scores: unknown {unknown}; choose from {', '.join(SCORES)}")
    kind = task_kind(task)
    n_classes = len(label_names) if kind == "classes" else 0
    out: dict[str, dict[str, float]] = {}
    for name in scores:
        if name == "logme":
            value, seconds = _timed(lambda: logme_score(train, kind))
        elif name == "knn":
            value, seconds = _timed(
                lambda: task_metric(
                    task,
                    label_names,
                    metric,
                    knn_outputs(train, val, kind, knn_k, n_classes),
                    val.targets,
                )
            )
        else:
            value, seconds = _timed(
                lambda: task_metric(
                    task,
                    label_names,
                    metric,
                    probe_outputs(train, val, kind, probe or {}, n_classes),
                    val.targets,
                )
            )
        out[name] = {"value": value, "seconds": seconds}
    return out
