"""`bakeoff-rank --against DIR...`: how well each score predicted a finished comparison.

A comparison is read from its run records (a multirun dir: the same collection, grouping and
aggregation as bakeoff-compare, results/collect.py + aggregate.py), or, where the records are
gone, from a comparison dir's `leaderboard.csv` (the output says which was read). Each of its
configurations is matched to a ranked backbone: by the recorded backbone config, else by a
`model=X` part of its label, else by `--map LABEL=MODEL`. Per backbone the truth is its best
configuration on val (mean over seeds): its mean val and mean test metric. Where the comparison
also varies something else (e.g. `finetune=full` vs `linear_probe`), each such setting is a
target of its own too.

Per score and target: Kendall's τ and weighted τ (scipy) of the score against mean val and mean
test; whether the score's top-1 is the comparison's selection (best on val); top-k recall (the
share of the k best backbones on test that the score's top k holds; k at most n - 1, as the top n
always holds them all); the regret of the score's
top-1 on test (best test metric minus the top-1's, ≥ 0). With 3 or fewer backbones a line says
that τ is weak evidence.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bakeoff.errors import BakeoffError, ConfigError
from bakeoff.rank.ranking import Ranking, score_column

FEW = 3  # τ over this many backbones or fewer is weak evidence
BEST_PER_BACKBONE = "best config per backbone"


# -- statistics on given vectors ----------------------------------------------------------------
def kendall(score: Sequence[float], truth: Sequence[float]) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(score, truth).statistic) if len(score) >= 2 else math.nan


def weighted(score: Sequence[float], truth: Sequence[float]) -> float:
    """scipy's weighted τ (hyperbolic weights: disagreements near the top cost most)."""
    from scipy.stats import weightedtau

    return float(weightedtau(score, truth).statistic) if len(score) >= 2 else math.nan


def top_k_recall(score: Sequence[float], truth: Sequence[float], k: int) -> float:
    """|top-k by score ∩ top-k by truth| / k (higher is better for both)."""
    k = min(k, len(score))
    by_score = set(np.argsort(-np.asarray(score), kind="stable")[:k])
    by_truth = set(np.argsort(-np.asarray(truth), kind="stable")[:k])
    return len(by_score & by_truth) / k if k else math.nan


def regret(score: Sequence[float], truth: Sequence[float]) -> float:
    """Best truth minus the truth of the score's top-1 (≥ 0; higher is better for both)."""
    values = np.asarray(truth, dtype=float)
    return float(values.max() - values[int(np.argmax(np.asarray(score)))])


# -- reading a comparison -----------------------------------------------------------------------
@dataclass
class Comparison:
    """Per configuration: its label, mean val and test metric, and the backbone it matched."""

    source: str  # what was read: "records under DIR" or "DIR/leaderboard.csv"
    table: pd.DataFrame  # config, val, test, model (None: no ranked backbone), rest
    selection: str | None
    notes: list[str] = field(default_factory=list)


def _leaderboard_csv(path: Path) -> Path | None:
    for candidate in (path / "leaderboard.csv", path / "comparison" / "leaderboard.csv"):
        if candidate.is_file():
            return candidate
    return None


def _match(label: str, ranked: Sequence[str], mapping: dict[str, str]) -> tuple[str | None, str]:
    """(ranked model, the rest of the label) for a config label."""
    words = label.split()
    for word in words:
        if word in mapping or label in mapping:
            model = mapping.get(label) or mapping[word]
            return model, " ".join(w for w in words if w != word)
    for word in words:
        key, _, value = word.partition("=")
        if key == "model" and value in ranked:
            return value, " ".join(w for w in words if w != word)
    return None, label


def _from_records(path: Path, metric: str, mode: str, backbones: dict[str, Any]) -> Comparison:
    from bakeoff.results.aggregate import aggregate, sort_and_select
    from bakeoff.results.collect import config_labels, find_jobs, record_field, runs_frame

    jobs = find_jobs(path)
    labels, _ = config_labels(jobs)
    runs = runs_frame(jobs, labels)
    columns = [c for c in (f"val/{metric}", f"test/{metric}") if c in runs]
    table, best = sort_and_select(aggregate(runs, columns), f"val/{metric}", mode)
    recorded: dict[str, str] = {}  # config label -> ranked model whose backbone config it ran
    for job, label in zip(jobs, labels, strict=True):
        backbone = json.dumps(record_field(job.record, "config.model.backbone"), sort_keys=True)
        for model, config in backbones.items():
            if backbone == config:
                recorded.setdefault(label, model)
    out = table[["config", f"val/{metric}_mean", f"test/{metric}_mean", "dataset"]].copy()
    out.columns = ["config", "val", "test", "dataset"]
    out["model"] = [recorded.get(c) for c in out["config"]]
    return Comparison(f"records under {path}", out, best)


def _from_csv(csv: Path, metric: str, mode: str) -> Comparison:
    table = pd.read_csv(csv)
    val, test = f"val/{metric}_mean", f"test/{metric}_mean"
    if val not in table or test not in table:
        have = sorted(c[: -len("_mean")] for c in table.columns if c.endswith("_mean"))
        raise BakeoffError(f"{csv}: no {val} / {test} columns (it has {', '.join(have)})")
    selected = table.loc[table["selected"].astype(str) == "True", "config"]
    out = table[["config", val, test]].copy()
    out.columns = ["config", "val", "test"]
    out["dataset"] = table.get("dataset", None)
    out["model"] = None
    return Comparison(
        f"{csv} (records not there)", out, selected.iloc[0] if len(selected) else None
    )


def read_comparison(
    path: Path, metric: str, mode: str, ranked: Sequence[str], mapping: dict[str, str], backbones
) -> Comparison:
    from bakeoff.results.collect import NoRunsFoundError, find_jobs

    if not path.is_dir():
        raise BakeoffError(f"--against {path}: not a directory")
    try:
        find_jobs(path)
        comparison = _from_records(path, metric, mode, backbones)
    except NoRunsFoundError:
        csv = _leaderboard_csv(path)
        if csv is None:
            raise BakeoffError(
                f"--against {path}: no run records and no leaderboard.csv there"
            ) from None
        comparison = _from_csv(csv, metric, mode)
    rests = []
    for i, label in enumerate(comparison.table["config"]):
        model, rest = _match(str(label), ranked, mapping)
        if comparison.table.at[i, "model"] is None:
            comparison.table.at[i, "model"] = model
        rests.append(rest if model is not None else "")
    comparison.table["rest"] = rests
    if mode == "min":  # every statistic below reads higher as better
        comparison.table[["val", "test"]] = -comparison.table[["val", "test"]]
    return comparison


# -- scoring the scores -------------------------------------------------------------------------
@dataclass
class Against:
    table: pd.DataFrame
    lines: list[str]
    markdown: str


def _targets(c: Comparison) -> list[tuple[str, pd.DataFrame, str | None]]:
    """(target name, one row per backbone, its selection) for each way to read the truth."""
    matched = c.table[c.table["model"].notna() & c.table["val"].notna()]
    best = matched.sort_values("val", ascending=False, kind="stable").drop_duplicates("model")
    selection = c.table.loc[c.table["config"] == c.selection, "model"]
    targets = [(BEST_PER_BACKBONE, best, selection.iloc[0] if len(selection) else None)]
    for rest, group in matched.groupby("rest", sort=True):
        if (
            rest
            and group["model"].nunique() == len(group)
            and len(group) >= 2
            and len(group) < len(matched)
        ):
            top = group.sort_values("val", ascending=False).iloc[0]["model"]
            targets.append((rest, group, top))
    return targets


def against(
    ranking: Ranking,
    dirs: Sequence[str | Path],
    map_items: Sequence[str] = (),
    top_k: int = 3,
    mode: str = "max",
) -> Against:
    mapping = {}
    for item in map_items:
        label, sep, model = item.rpartition("=")
        if not sep or not label:
            raise ConfigError(f"--map {item}: expected CONFIG=MODEL")
        mapping[label] = model
    ranked = list(ranking.table["model"])
    rows, lines = [], []
    names = [Path(d).name for d in dirs]  # the dir's name, or parent/name where two share it
    names = [
        "/".join(Path(d).parts[-2:]) if names.count(n) > 1 else n
        for d, n in zip(dirs, names, strict=True)
    ]
    for d, name in zip(dirs, names, strict=True):
        c = read_comparison(Path(d), ranking.metric, mode, ranked, mapping, ranking.backbones)
        lines.append(
            f"{d}: read {c.source}; selection (best on val {ranking.metric}): {c.selection}"
        )
        datasets = {str(x) for x in c.table["dataset"].dropna() if str(x)}
        if datasets and ranking.data not in datasets:
            lines.append(
                f"  warning: the comparison ran on {', '.join(sorted(datasets))}, the ranking on {ranking.data}"
            )
        unmatched = [str(x) for x in c.table.loc[c.table["model"].isna(), "config"]]
        if unmatched:
            lines.append(
                f"  not ranked (no backbone matched; --map CONFIG=MODEL): {', '.join(unmatched)}"
            )
        absent = [m for m in ranked if m not in set(c.table["model"].dropna())]
        if absent:
            lines.append(f"  ranked but not in the comparison: {', '.join(absent)}")
        for target, group, selection in _targets(c):
            merged = group.merge(ranking.table, on="model")
            n = len(merged)
            if n < 2:
                lines.append(f"  {target}: {n} ranked backbone(s): nothing to rank")
                continue
            if n <= FEW:
                lines.append(
                    f"  {target}: only {n} backbones: τ over {n} is weak evidence (a single swap moves it by {2 / (n * (n - 1) / 2):.2f})"
                )
            for score in ranking.scores:
                column = score_column(score, ranking.metric)
                s = merged[column].astype(float).to_numpy()
                s = s if score == "logme" or mode == "max" else -s
                top1 = merged.iloc[int(np.argmax(s))]["model"]
                k = max(1, min(top_k, n - 1))  # k = n would hold every backbone: trivially 1
                rows.append(
                    {
                        "comparison": name,
                        "target": target,
                        "score": score,
                        "n": n,
                        "tau_val": kendall(s, merged["val"]),
                        "wtau_val": weighted(s, merged["val"]),
                        "tau_test": kendall(s, merged["test"]),
                        "wtau_test": weighted(s, merged["test"]),
                        "top1": top1,
                        "top1_is_selection": top1 == selection,
                        f"top{k}_recall": top_k_recall(s, merged["test"], k),
                        "regret_test": regret(s, merged["test"]),
                    }
                )
    table = pd.DataFrame(rows)
    return Against(table, lines, against_markdown(table, lines, ranking))


def against_markdown(table: pd.DataFrame, lines: Sequence[str], ranking: Ranking) -> str:
    from bakeoff.results.tables import markdown_table

    shown = table.copy()
    for column in shown.columns:
        if shown[column].dtype.kind == "f":
            shown[column] = [("—" if not math.isfinite(v) else f"{v:.3f}") for v in shown[column]]
    out = [f"# How well each score predicted the comparison (metric {ranking.metric})", ""]
    out += [
        f"- {line.strip()}" if not line.startswith("  ") else f"  - {line.strip()}"
        for line in lines
    ]
    if table.empty:
        out += ["", "No target has 2 or more ranked backbones: nothing to score."]
    else:
        text = ("comparison", "target", "score", "top1")
        out += ["", markdown_table(shown.fillna("—"), text_columns=text)]
    out += [
        "",
        "τ: Kendall's tau (scipy.stats.kendalltau) of the score against the mean val / test metric per "
        "backbone; wτ: scipy.stats.weightedtau; top1_is_selection: the score's best is the "
        "comparison's selection (best on val); topk_recall: share of the k best backbones on test "
        "in the score's top k; regret_test: best test metric minus that of the score's top-1.",
    ]
    return "\n".join(out) + "\n"


def write_against(result: Against, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "against.md").write_text(result.markdown)
    result.table.to_csv(out / "against.csv", index=False, float_format="%.6g")
    return [out / "against.md", out / "against.csv"]
