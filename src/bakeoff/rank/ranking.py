"""Rank backbones by transferability scores: one row per backbone, sorted by the chosen score.

`rank_configs` takes the composed run configs (one per backbone, as `train.py` would compose
them), checks them all before any weights load (one clear line for a bad one), then for each
backbone reads or computes its train/val features (features.py) and scores them (scores.py).
`screen` is the same ranking as a function a sweeper calls: keep the top K configurations.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from bakeoff.errors import ConfigError
from bakeoff.rank.scores import SCORES

log = logging.getLogger(__name__)


@dataclass
class Ranking:
    """The ranked table (one row per backbone) and what it was ranked on."""

    table: pd.DataFrame
    sort_by: str
    metric: str  # the task metric the kNN and probe scores are in (e.g. f1_macro)
    data: str
    task: str
    scores: list[str]
    total_s: float
    forward_s: float
    mode: str = "max"  # of the kNN / probe metric (the task's monitor mode)
    # model label -> its resolved backbone config (JSON): matched against run records
    backbones: dict[str, str] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)


def rank_options(cfg: DictConfig, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ranking's options: `given`, else the config's `rank` node (conf/rank.yaml), else
    conf/rank.yaml's defaults resolved against `cfg` (a train config, as a sweeper holds)."""
    if given is not None:
        opts = dict(given)
    elif "rank" in cfg:
        opts = cast(dict[str, Any], OmegaConf.to_container(cfg.rank, resolve=True))
    else:
        from pathlib import Path

        from bakeoff.config import CONF_DIR

        defaults = cast(
            dict[str, Any],
            OmegaConf.to_container(
                OmegaConf.select(OmegaConf.load(Path(CONF_DIR) / "rank.yaml"), "rank")
            ),
        )
        defaults.pop("output_dir", None)  # a screen writes no files
        merged = OmegaConf.merge(OmegaConf.to_container(cfg, resolve=False), {"rank": defaults})
        opts = cast(dict[str, Any], OmegaConf.to_container(merged.rank, resolve=True))
    scores = list(opts.get("scores") or SCORES)
    unknown = [s for s in scores if s not in SCORES]
    if unknown:
        raise ConfigError(f"rank.scores: unknown {unknown}; choose from {', '.join(SCORES)}")
    if opts.get("sort_by") not in scores:
        raise ConfigError(
            f"rank.sort_by: '{opts.get('sort_by')}' is not one of rank.scores {scores}"
        )
    opts["scores"] = scores
    return opts


def score_column(score: str, metric: str) -> str:
    """Table column of a score: `logme`, `knn_f1_macro`, `probe_f1_macro`."""
    return score if score == "logme" else f"{score}_{metric}"


def _direction(cfg: DictConfig, score: str) -> bool:
    """True when higher is better (LogME always; kNN/probe follow the monitored metric's mode)."""
    return score == "logme" or cfg.monitor.mode == "max"


def check_configs(configs: Sequence[DictConfig]) -> None:
    """Everything that fails without loading weights, for every backbone first."""
    from bakeoff.checks.validate import validate_config
    from bakeoff.rank.features import backbone_config_error
    from bakeoff.rank.scores import check_task

    if not configs:
        raise ConfigError("bakeoff-rank: no backbone to rank (give model=a,b,...)")
    datas = {OmegaConf.select(c, "data.name") for c in configs}
    if len(datas) > 1:
        raise ConfigError(
            f"bakeoff-rank: backbones are ranked on one data set, got {sorted(datas)}"
        )
    for cfg in configs:
        backbone_config_error(cfg)
        check_task(cfg.task)
        validate_config(cfg)


def rank_configs(
    configs: Sequence[DictConfig],
    labels: Sequence[str] | None = None,
    options: dict[str, Any] | None = None,
) -> Ranking:
    """Score every backbone of `configs`; `options` default to the first one's (rank_options);
    `labels` name the rows (default: each config's model.name)."""
    from bakeoff.rank.features import backbone_features
    from bakeoff.rank.scores import score_all

    tic = time.perf_counter()
    check_configs(configs)
    cfg0 = configs[0]
    opts = rank_options(cfg0, options)
    metric = str(cfg0.monitor.metric).split("/", 1)[-1]
    rows = []
    forward_s = 0.0
    labels = list(labels) if labels is not None else [str(c.model.name) for c in configs]
    for cfg, label in zip(configs, labels, strict=True):
        start = time.perf_counter()
        feats = backbone_features(cfg, opts.get("cache_dir"), opts.get("device", "auto"))
        scored = score_all(
            feats.task,
            feats.label_names,
            feats.splits["train"],
            feats.splits["val"],
            metric,
            opts["scores"],
            knn_k=int(opts.get("knn_k", 20)),
            probe=opts.get("probe") or {},
        )
        forward_s += feats.forward_s
        row: dict[str, Any] = {"model": label}
        for score in opts["scores"]:
            row[score_column(score, metric)] = scored[score]["value"]
        row.update(
            {
                "params": feats.params_total,
                "flops_per_sample": feats.flops_per_sample,
                "n_train": feats.n["train"],
                "n_val": feats.n["val"],
                "features": feats.cache,
                "build_s": feats.build_s,
                "forward_s": feats.forward_s,
            }
        )
        for score in opts["scores"]:
            row[f"{score}_s"] = scored[score]["seconds"]
        row["total_s"] = time.perf_counter() - start
        rows.append(row)
        log.info("ranked %s: %s", label, {s: round(scored[s]["value"], 4) for s in scored})
    sort_by = opts["sort_by"]
    column = score_column(sort_by, metric)
    table = pd.DataFrame(rows).sort_values(
        column, ascending=not _direction(cfg0, sort_by), kind="stable"
    )
    table.insert(0, "rank", range(1, len(table) + 1))
    total = time.perf_counter() - tic
    ranking = Ranking(
        table=table.reset_index(drop=True),
        sort_by=sort_by,
        metric=metric,
        data=str(OmegaConf.select(cfg0, "data.name")),
        task=str(cfg0.task.name),
        scores=opts["scores"],
        total_s=total,
        forward_s=forward_s,
        mode=str(cfg0.monitor.mode),
        backbones={
            label: json.dumps(
                OmegaConf.to_container(c.model.backbone, resolve=True), sort_keys=True
            )
            for label, c in zip(labels, configs, strict=True)
        },
    )
    ranking.summary = summary_lines(ranking)
    return ranking


def summary_lines(r: Ranking) -> list[str]:
    top = r.table.iloc[0]["model"] if len(r.table) else None
    lines = [
        f"{len(r.table)} backbones on {r.data} ({r.task}), ranked by {score_column(r.sort_by, r.metric)}"
        f" (higher is better); kNN and probe scores are val {r.metric}. Top: {top}.",
    ]
    if r.forward_s > 0:
        lines.append(
            f"Time: {r.total_s:.1f} s in all, {r.forward_s:.1f} s of it the backbones' forward "
            f"passes over train + val ({r.total_s / r.forward_s:.2f}x the forward passes)."
        )
    else:
        lines.append(f"Time: {r.total_s:.1f} s in all; every split's features read from the cache.")
    lines.append("A score is a screen, not a result: fine-tune the top few (see docs/ranking.md).")
    return lines


def to_record(r: Ranking) -> dict[str, Any]:
    """The ranking as plain JSON data (rank.json)."""
    table = json.loads(r.table.to_json(orient="records"))
    return {
        "data": r.data,
        "task": r.task,
        "metric": r.metric,
        "sort_by": r.sort_by,
        "scores": r.scores,
        "total_s": round(r.total_s, 3),
        "forward_s": round(r.forward_s, 3),
        "summary": r.summary,
        "mode": r.mode,
        "backbones": r.backbones,
        "ranking": table,
    }


def from_record(path: str | Path) -> Ranking:
    """A ranking read back from its rank.json (a file, or the dir that holds it)."""
    path = Path(path)
    path = path / "rank.json" if path.is_dir() else path
    try:
        record = json.loads(path.read_text())
        return Ranking(
            table=pd.DataFrame(record["ranking"]),
            sort_by=record["sort_by"],
            metric=record["metric"],
            data=record["data"],
            task=record["task"],
            scores=list(record["scores"]),
            total_s=float(record["total_s"]),
            forward_s=float(record["forward_s"]),
            mode=record.get("mode", "max"),
            backbones=record.get("backbones") or {},
            summary=list(record.get("summary") or []),
        )
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"--ranking {path}: not a bakeoff-rank record ({err})") from None


@dataclass
class Screened:
    """A sweeper's screen: which configurations go on, each with its backbone's score."""

    kept: list[int]  # indices into the configurations given, best score first
    dropped: list[int]
    scores: list[float]  # per configuration, in the order given
    ranking: Ranking


def screen(configurations: Sequence[DictConfig], score: str = "logme", top_k: int = 3) -> Screened:
    """Keep the configurations whose backbones score in the top `top_k` (of distinct backbones).

    Configurations sharing a backbone (same model config) share one score and are kept or
    dropped together. The options (k of the kNN, probe settings, cache dir) are the first
    configuration's `rank` node, or conf/rank.yaml's defaults for a train config. This is what
    a halving sweeper calls before its rung 0.
    """
    if top_k < 1:
        raise ConfigError(f"screen_top_k must be >= 1, got {top_k}")
    keys = [
        json.dumps(OmegaConf.to_container(c.model, resolve=True), sort_keys=True)
        for c in configurations
    ]
    unique: dict[str, DictConfig] = {}
    for key, cfg in zip(keys, configurations, strict=True):
        unique.setdefault(key, cfg)
    # Only the score screened on: the others would cost time and decide nothing here.
    options = rank_options(configurations[0]) | {"sort_by": score, "scores": [score]}
    monitored = str(configurations[0].monitor.metric)
    if score != "logme" and monitored.split("/", 1)[-1] == "loss":
        raise ConfigError(
            f"screen {score}: its score is the monitored val metric, and monitor.metric="
            f"{monitored} is not one a {score} score can compute: screen with logme, or monitor "
            "a task metric"
        )
    chosen = list(unique.values())
    names = [f"{c.model.name}#{j}" for j, c in enumerate(chosen)]  # unique, also for one name
    ranking = rank_configs(chosen, names, options)
    column = score_column(score, ranking.metric)
    key_of = dict(zip(names, unique, strict=True))
    ranked_keys = [key_of[name] for name in ranking.table["model"]]
    value_of = {
        key_of[n]: float(v)
        for n, v in zip(ranking.table["model"], ranking.table[column], strict=True)
    }
    top = ranked_keys[:top_k]
    kept = [i for k in top for i, key in enumerate(keys) if key == k]
    dropped = [i for i in range(len(configurations)) if i not in kept]
    return Screened(kept=kept, dropped=dropped, scores=[value_of[k] for k in keys], ranking=ranking)
