"""Compare the jobs of one or more sweeps: leaderboard, selection on val, significance, cost.

Flow: find job dirs (results.json, or .hydra/ of a job still running) -> one row per job (`load`)
-> one row per configuration (mean ± std over seeds/folds) -> select the best configuration on the
validation metric -> paired tests of its test predictions against every other configuration ->
tables (md/csv/tex/html), optional pivot, plots. Everything comes from what the runs recorded.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bakeoff.errors import BakeoffError
from bakeoff.results import stats

log = logging.getLogger(__name__)

RECORD_FILE = "results.json"
HYDRA_OVERRIDES = Path(".hydra") / "overrides.yaml"
HYDRA_CONFIG = Path(".hydra") / "config.yaml"
DEFAULT_PREDICTIONS = "test_predictions.csv"
OUT_SUBDIR = "comparison"
FORMATS = ("md", "csv", "tex", "html")
SPLITS = ("val", "test")
KNOWN_METRICS = ("acc", "f1_macro", "precision_macro", "recall_macro", "loss")
# Overrides that repeat a configuration (another seed or fold of it) rather than define one.
REPEAT_KEYS = {"seed", "fold", "data.fold"}
ALPHA = 0.05
STAR = "★"
DEFAULT_CONFIG = "(default)"

# load() column -> dotted path in results.json (falls back to the resolved config, see _field).
FIELDS = {
    "run_id": "run_id",
    "name": "name",
    "group": "group",
    "seed": "seed",
    "fold": "fold",
    "model": "model.name",
    "source": "model.source",
    "dataset": "data.name",
    "task": "data.task",
    "monitor_metric": "monitor.metric",
    "monitor_mode": "monitor.mode",
    "monitor_best": "monitor.best",
    "best_epoch": "monitor.best_epoch",
    "params_total": "model.params_total",
    "params_trainable": "model.params_trainable",
    "flops_per_sample": "model.flops_per_sample",
    "fit_s": "timing.fit_s",
    "test_s": "timing.test_s",
    "train_samples_per_s": "timing.train_samples_per_s",
    "eval_samples_per_s": "timing.eval_samples_per_s",
    "startup_s": "timing.startup_s",
    "device": "resources.device",
    "precision": "resources.precision",
    "world_size": "resources.world_size",
    "peak_rss_mb": "resources.peak_rss_mb",
    "peak_gpu_mem_mb": "resources.peak_gpu_mem_mb",
}
# Cost columns shown beside quality: column -> (header, formatter).
COST = {
    "params_total": ("params", lambda v: _si(v)),
    "params_trainable": ("trainable", lambda v: _si(v)),
    "flops_per_sample": ("FLOPs/sample", lambda v: _si(v)),
    "fit_s": ("fit s", lambda v: f"{v:.1f}"),
    "train_samples_per_s": ("train samples/s", lambda v: f"{v:.1f}"),
    "peak_rss_mb": ("peak RSS MB", lambda v: f"{v:.0f}"),
}


class NoRunsFoundError(BakeoffError):
    """The given dirs hold no run record and no Hydra job dir."""


# --------------------------------------------------------------------------- collecting jobs


@dataclass
class Job:
    """One job dir: its record (or, while it runs, what Hydra wrote before it started)."""

    run_dir: Path
    record: dict[str, Any]
    status: str
    error: str | None
    overrides: list[str]


def _as_paths(dirs: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(dirs, (str, Path)):
        dirs = [dirs]
    return [Path(d) for d in dirs]


def _read_yaml(path: Path) -> Any:
    import yaml  # comes with hydra/omegaconf

    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None


def _read_job(run_dir: Path) -> Job:
    hydra_overrides = (
        _read_yaml(run_dir / HYDRA_OVERRIDES) if (run_dir / ".hydra").is_dir() else None
    )
    hydra_overrides = [str(o) for o in hydra_overrides] if isinstance(hydra_overrides, list) else []
    record_path = run_dir / RECORD_FILE
    if not record_path.is_file():
        config = _read_yaml(run_dir / HYDRA_CONFIG)
        record: dict[str, Any] = {
            "overrides": hydra_overrides,
            "config": config if isinstance(config, dict) else {},
        }
        # Hydra writes config.yaml beside overrides.yaml; without it, seed/fold still show.
        for item in hydra_overrides:
            key, _, value = item.partition("=")
            if _override_key(key) in ("seed", "fold") and value:
                record[_override_key(key)] = int(value) if value.lstrip("-").isdigit() else value
        note = "no results.json yet (still running, or killed before writing it)"
        return Job(run_dir, record, "running", note, hydra_overrides)
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError) as exc:
        return Job(run_dir, {}, "failed", f"unreadable {RECORD_FILE}: {exc}", hydra_overrides)
    overrides = record.get("overrides")
    overrides = [str(o) for o in overrides] if isinstance(overrides, list) else hydra_overrides
    return Job(
        run_dir, record, str(record.get("status") or "unknown"), record.get("error"), overrides
    )


def find_jobs(dirs: str | Path | Iterable[str | Path]) -> list[Job]:
    """Every job dir under `dirs` (recursively), each once, in path order."""
    paths = _as_paths(dirs)
    missing = [str(p) for p in paths if not p.is_dir()]
    if missing:
        raise NoRunsFoundError(f"not a directory: {', '.join(missing)}")
    found: dict[Path, Path] = {}
    for root in paths:
        candidates = [p.parent for p in root.rglob(RECORD_FILE)]
        candidates += [
            p.parent.parent for p in root.rglob("overrides.yaml") if p.parent.name == ".hydra"
        ]
        for run_dir in candidates:
            found.setdefault(run_dir.resolve(), run_dir)
    if not found:
        raise NoRunsFoundError(
            f"no {RECORD_FILE} and no Hydra job dir (.hydra/overrides.yaml) found under: "
            + ", ".join(str(p) for p in paths)
        )
    return [_read_job(found[key]) for key in sorted(found)]


# --------------------------------------------------------------------------- one row per job

_MISSING = object()


def _lookup(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def _field(record: dict[str, Any], path: str) -> Any:
    """A dotted record field; a job still running only has its config, so look there too."""
    value = _lookup(record, path)
    if value is _MISSING and not path.startswith("config."):
        value = _lookup(record, "config." + path)
    return None if value is _MISSING else value


def _override_key(item: str) -> str:
    return item.split("=", 1)[0].lstrip("+~")


def configuration(overrides: Iterable[str]) -> tuple[str, ...]:
    """The overrides that define a configuration: seed/fold repeats and hydra.* settings dropped."""
    keep = []
    for item in overrides:
        key = _override_key(item)
        if key not in REPEAT_KEYS and not key.startswith("hydra."):
            keep.append(item)
    return tuple(keep)


def _label_value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return "?" if value is None else str(value)


def _labels(
    jobs: Sequence[Job], group_by: Sequence[str] | None = None, drop: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """Configuration label per job, and the overrides shared by all jobs (left out of labels).

    Overrides are compared as sets (order on the command line does not change a config); a label
    keeps the first job's order. Overrides every job shares say nothing about the difference
    between configurations, so they move to the summary, unless that would empty a label.
    """
    drop = set(drop)
    if group_by:
        fields = [f for f in group_by if f not in drop]
        labels = [
            " ".join(f"{f}={_label_value(_field(job.record, f))}" for f in fields) or "(all)"
            for job in jobs
        ]
        return labels, []
    configs = [
        tuple(o for o in configuration(job.overrides) if _override_key(o) not in drop)
        for job in jobs
    ]
    shared = set.intersection(*(set(c) for c in configs)) if configs else set()
    if len({frozenset(c) for c in configs}) < 2 or any(set(c) == shared for c in configs):
        shared = set()
    by_key: dict[frozenset[str], str] = {}
    for config in configs:
        by_key.setdefault(
            frozenset(config), " ".join(o for o in config if o not in shared) or DEFAULT_CONFIG
        )
    return [by_key[frozenset(c)] for c in configs], [o for o in configs[0] if o in shared]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _predictions_path(job: Job) -> str | None:
    recorded = _field(job.record, "paths.predictions")
    candidates = [Path(recorded)] if isinstance(recorded, str) and recorded else []
    candidates = [p if p.is_absolute() else job.run_dir / p for p in candidates]
    candidates.append(job.run_dir / DEFAULT_PREDICTIONS)
    return next((str(p) for p in candidates if p.is_file()), None)


def _row(job: Job, label: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "status": job.status,
        "config": label,
        "error": job.error,
        "overrides": " ".join(job.overrides),
    }
    row.update({column: _field(job.record, path) for column, path in FIELDS.items()})
    metrics = job.record.get("metrics") if job.status != "running" else None
    for split in SPLITS:
        values = (metrics or {}).get(split) or {}
        for name, value in values.items() if isinstance(values, dict) else ():
            name = name.split("/", 1)[1] if name.startswith(f"{split}/") else name
            if _number(value) is not None:
                row[f"{split}/{name}"] = float(value)
    row["predictions"] = _predictions_path(job) if job.status != "running" else None
    row["run_dir"] = str(job.run_dir)
    return row


def _metric_columns(runs: pd.DataFrame, first: str | None = None) -> list[str]:
    """val/* then test/* columns; the selection metric first, then the known ones, then the rest."""
    order = {name: i + 1 for i, name in enumerate(KNOWN_METRICS)}
    if first:
        order[first] = 0
    columns = []
    for split in SPLITS:
        names = [c.split("/", 1)[1] for c in runs.columns if c.startswith(f"{split}/")]
        names.sort(key=lambda n: (order.get(n, len(order) + 1), n))
        columns += [f"{split}/{n}" for n in names]
    return columns


def _frame(jobs: Sequence[Job], labels: Sequence[str]) -> pd.DataFrame:
    runs = pd.DataFrame([_row(job, label) for job, label in zip(jobs, labels, strict=True)])
    front = ["status", "config", "seed", "fold", "model", "dataset"]
    metrics = _metric_columns(runs)
    rest = [c for c in runs.columns if c not in front + metrics + ["run_dir"]]
    return runs[front + metrics + rest + ["run_dir"]]


def load(
    dirs: str | Path | Iterable[str | Path], group_by: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per job under `dirs`: status, config (the group label), seed, fold, val/* and
    test/* metrics, cost (params_total, flops_per_sample, fit_s, peak_rss_mb, ...), run_dir."""
    jobs = find_jobs(dirs)
    labels, _ = _labels(jobs, _split_list(group_by))
    return _frame(jobs, labels)


# --------------------------------------------------------------------------- one row per config


def _split_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item and item.strip()]


def _status_text(statuses: pd.Series, errors: pd.Series) -> str:
    counts = Counter(statuses)
    ok = counts.pop("completed", 0)
    error = next((str(e).strip().splitlines()[0] for e in errors if isinstance(e, str) and e), "")
    error = error if len(error) <= 80 else error[:77] + "..."
    if not ok and set(counts) == {"failed"}:
        return f"failed: {error}" if error else "failed"
    parts = ([f"{ok} ok"] if ok else []) + [f"{n} {status}" for status, n in counts.items()]
    text = ", ".join(parts)
    return f"{text} ({error})" if counts.get("failed") and error else text


def _selection_metric(runs: pd.DataFrame, metric: str | None, mode: str | None) -> tuple[str, str]:
    """The val metric (and its mode) to select on: given, else what most records monitored."""
    if metric:
        metric = metric if "/" in metric else f"val/{metric}"
        if not metric.startswith("val/"):
            raise BakeoffError(
                f"selection is on validation metrics: use --metric val/<name>, not {metric!r}"
            )
        recorded = [c for c in runs.columns if c.startswith("val/")]
        if (runs["status"] == "completed").any() and metric not in recorded:
            raise BakeoffError(
                f"no run recorded {metric}; recorded: {', '.join(recorded) or 'none'}"
            )
    else:
        monitored = runs["monitor_metric"].dropna()
        monitored = monitored[monitored.astype(str).str.startswith("val/")]
        if len(monitored):
            metric = Counter(monitored).most_common(1)[0][0]
        else:
            known = [f"val/{m}" for m in KNOWN_METRICS if f"val/{m}" in runs.columns]
            metric = known[0] if known else "val/acc"
    if mode:
        if mode not in ("max", "min"):
            raise BakeoffError(f"--mode must be max or min, not {mode!r}")
        return metric, mode
    modes = runs.loc[runs["monitor_metric"] == metric, "monitor_mode"].dropna()
    if len(modes):
        return metric, Counter(modes).most_common(1)[0][0]
    return metric, "min" if "loss" in metric else "max"


def _aggregate(runs: pd.DataFrame, metric_columns: Sequence[str]) -> pd.DataFrame:
    rows = []
    for label, jobs in runs.groupby("config", sort=False):
        done = jobs[jobs["status"] == "completed"]
        row: dict[str, Any] = {
            "config": label,
            "status": _status_text(jobs["status"], jobs["error"]),
            "n": len(done),
            "n_jobs": len(jobs),
        }
        for column in metric_columns:
            s = stats.summarize(done.get(column, []))
            row[f"{column}_mean"], row[f"{column}_std"], row[f"{column}_ci95"] = (
                s.mean,
                s.std,
                s.ci95,
            )
        for column in COST:
            values = pd.to_numeric(done[column], errors="coerce").dropna()
            row[column] = float(values.mean()) if len(values) else math.nan
        row["dataset"] = ", ".join(sorted({str(d) for d in jobs["dataset"].dropna()}))
        rows.append(row)
    return pd.DataFrame(rows)


def _sort_and_select(
    table: pd.DataFrame, metric: str, mode: str
) -> tuple[pd.DataFrame, str | None]:
    """Rows by the val metric (never test), best first; the best config with a val value."""
    key = f"{metric}_mean"
    if key not in table:
        return table.sort_values("config", kind="stable").reset_index(drop=True), None
    table = table.sort_values(
        [key, "config"], ascending=[mode == "min", True], na_position="last", kind="stable"
    ).reset_index(drop=True)
    selectable = table[(table["n"] > 0) & table[key].notna()]
    return table, (str(selectable["config"].iloc[0]) if len(selectable) else None)


# --------------------------------------------------------------------------- significance


def _none_if_nan(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _pairing_runs(runs: pd.DataFrame) -> dict[tuple[Any, Any], str]:
    """(seed, fold) -> predictions path of completed runs that recorded predictions."""
    usable = runs[(runs["status"] == "completed") & runs["predictions"].notna()]
    pairs: dict[tuple[Any, Any], str] = {}
    for _, run in usable.sort_values("run_dir").iterrows():
        pairs.setdefault((_none_if_nan(run["seed"]), _none_if_nan(run["fold"])), run["predictions"])
    return pairs


def _read_predictions(path: str, cache: dict[str, pd.DataFrame]) -> pd.DataFrame:
    if path not in cache:
        frame = pd.read_csv(
            path, usecols=["index", "label", "pred"], dtype={"label": str, "pred": str}
        )
        cache[path] = frame.drop_duplicates("index").set_index("index")
    return cache[path]


def significance(
    best_runs: pd.DataFrame, other_runs: pd.DataFrame, cache: dict[str, pd.DataFrame] | None = None
) -> dict[str, Any]:
    """Paired tests of test-set correctness: the other configuration against the best one.

    Runs are paired by (seed, fold) where both configs have them (per-example correctness is then
    averaged over the matched runs before the bootstrap; McNemar uses the first matched pair),
    else the first completed run of each. Returns p_bootstrap, p_mcnemar, delta_acc (other - best,
    on the pooled examples), n_examples, and a note when no test was possible.
    """
    cache = {} if cache is None else cache
    best, other = _pairing_runs(best_runs), _pairing_runs(other_runs)
    empty = {"p_bootstrap": math.nan, "p_mcnemar": math.nan, "delta_acc": math.nan, "n_examples": 0}
    if not best or not other:
        return {**empty, "note": "no predictions"}
    matched = sorted(
        (k for k in best.keys() & other.keys() if k != (None, None)), key=lambda k: str(k)
    )
    pairs = [(best[k], other[k]) for k in matched] or [
        (next(iter(best.values())), next(iter(other.values())))
    ]
    frames = []
    for best_path, other_path in pairs:
        try:
            best_predictions = _read_predictions(best_path, cache)
            other_predictions = _read_predictions(other_path, cache)
        except (OSError, ValueError) as exc:  # e.g. a CSV without index/label/pred columns
            log.warning("unreadable predictions (%s vs %s): %s", best_path, other_path, exc)
            return {**empty, "note": "unreadable predictions"}
        joined = pd.merge(
            best_predictions,
            other_predictions,
            left_index=True,
            right_index=True,
            suffixes=("_best", "_other"),
        )
        if joined.empty or (joined["label_best"] != joined["label_other"]).any():
            return {**empty, "note": "test sets differ"}
        frames.append(
            pd.DataFrame(
                {
                    "best": (joined["label_best"] == joined["pred_best"]).astype(float),
                    "other": (joined["label_other"] == joined["pred_other"]).astype(float),
                },
                index=joined.index,
            )
        )
    pooled = pd.concat(frames).groupby(level=0).mean()
    first = frames[0]
    return {
        "p_bootstrap": stats.paired_bootstrap(pooled["best"], pooled["other"]),
        "p_mcnemar": stats.mcnemar_exact(first["best"] > 0.5, first["other"] > 0.5),
        "delta_acc": float(pooled["other"].mean() - pooled["best"].mean()),
        "n_examples": len(pooled),
        "note": "",
    }


def _verdict(config: str, best: str | None, test: dict[str, Any]) -> str:
    if config == best:
        return "selected"
    p = test["p_bootstrap"]
    if math.isnan(p):
        return test["note"]
    if p >= ALPHA:
        return "within noise"
    return "better on test" if test["delta_acc"] > 0 else "worse on test"


def _add_significance(table: pd.DataFrame, runs: pd.DataFrame, best: str | None) -> pd.DataFrame:
    results = []
    cache: dict[str, pd.DataFrame] = {}
    best_runs = runs[runs["config"] == best]
    for config, n in zip(table["config"], table["n"], strict=True):
        if best is None or config == best or n == 0:
            test = {"p_bootstrap": math.nan, "p_mcnemar": math.nan, "delta_acc": math.nan}
            test.update(n_examples=0, note="")
        else:
            test = significance(best_runs, runs[runs["config"] == config], cache)
        test["vs_best"] = _verdict(config, best, test) if best is not None else ""
        results.append(test)
    extra = pd.DataFrame(results).drop(columns="note")
    return pd.concat([table, extra], axis=1)


# --------------------------------------------------------------------------- formatting


def _si(value: float) -> str:
    if value is None or not math.isfinite(value):
        return ""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.1f}{suffix}"
    return f"{value:.0f}"


def format_mean_std(mean: float, std: float, digits: int = 3) -> str:
    if mean is None or not math.isfinite(mean):
        return ""
    if std is None or not math.isfinite(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def format_p(p: float) -> str:
    if p is None or not math.isfinite(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _display(table: pd.DataFrame, metric_columns: Sequence[str], best: str | None) -> pd.DataFrame:
    """Formatted strings, one column per header, for md/tex/html and the console."""
    out: dict[str, list[str]] = {
        "": [STAR if c == best else "" for c in table["config"]],
        "config": list(table["config"]),
        "status": list(table["status"]),
        "n": [str(n) for n in table["n"]],
    }
    for column in metric_columns:
        out[column] = [
            format_mean_std(m, s)
            for m, s in zip(table[f"{column}_mean"], table[f"{column}_std"], strict=True)
        ]
    for column, (header, fmt) in COST.items():
        out[header] = [fmt(v) if math.isfinite(v) else "" for v in table[column]]
    out["p (bootstrap)"] = [format_p(p) for p in table["p_bootstrap"]]
    out["p (McNemar)"] = [format_p(p) for p in table["p_mcnemar"]]
    out["vs best"] = list(table["vs_best"])
    return pd.DataFrame(out)


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame) -> str:
    numeric = {c for c in frame.columns if c not in ("", "config", "status", "vs best")}
    header = "| " + " | ".join(_md_cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---:" if c in numeric else "---" for c in frame.columns) + "|"
    rows = ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([header, rule, *rows])


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    STAR: r"$\star$",
    "→": r"$\rightarrow$",
    "≥": r"$\geq$",
    "<": r"$<$",  # plain (OT1) LaTeX prints a bare < as an inverted exclamation mark
    ">": r"$>$",
    "|": r"$|$",
    "—": "--",
}
_LATEX_PATTERN = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIAL))


def latex_escape(text: Any) -> str:
    return _LATEX_PATTERN.sub(lambda m: _LATEX_SPECIAL[m.group(0)], str(text))


def latex_table(frame: pd.DataFrame, caption: str, comments: Sequence[str] = ()) -> str:
    """A plain `table`/`tabular` with \\hline rules: compiles without extra packages."""
    spec = "l" + "r" * (len(frame.columns) - 1)
    lines = [f"% {c}" for c in comments]
    lines += [r"\begin{table}[t]", r"\centering", rf"\begin{{tabular}}{{{spec}}}", r"\hline"]
    lines.append(" & ".join(latex_escape(c) for c in frame.columns) + r" \\")
    lines.append(r"\hline")
    lines += [" & ".join(latex_escape(v) for v in row) + r" \\" for row in frame.itertuples(False)]
    lines += [r"\hline", r"\end{tabular}", rf"\caption{{{latex_escape(caption)}}}"]
    lines += [r"\label{tab:bakeoff-leaderboard}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _latex_frame(display: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The paper subset: selection metric on val, test metrics, cost, p; the ★ joins the name."""
    config = [f"{star} {c}".strip() for star, c in zip(display[""], display["config"], strict=True)]
    columns = ["n", metric] + [c for c in display.columns if c.startswith("test/")]
    columns += ["params", "FLOPs/sample", "fit s", "p (bootstrap)"]
    frame = display[[c for c in columns if c in display.columns]].copy()
    frame.insert(0, "config", config)
    return frame


# --------------------------------------------------------------------------- the comparison


@dataclass
class Comparison:
    """The result of `compare`: per-job runs, per-config table (numeric), the selection."""

    runs: pd.DataFrame
    table: pd.DataFrame
    display: pd.DataFrame
    metric: str
    mode: str
    best: str | None
    summary: list[str]
    pivot: pd.DataFrame | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def markdown(self) -> str:
        """The leaderboard as a markdown document: summary lines, table, legend."""
        lines = ["# bakeoff leaderboard", ""] + [f"- {s}" for s in self.summary] + [""]
        lines += [markdown_table(self.display), "", self.legend, ""]
        return "\n".join(lines)

    @property
    def legend(self) -> str:
        return (
            f"{STAR} selected on {self.metric} ({self.mode}); rows sorted by it. Metrics: mean ± "
            "sample std over completed seeds/folds (n). p: two-sided paired bootstrap (10,000 "
            "resamples) and exact McNemar on per-example test correctness vs the selected config; "
            f"'within noise' when p ≥ {ALPHA}."
        )

    def console_frame(self) -> pd.DataFrame:
        """A narrow view for terminals: selection metric on val and test, cost, significance."""
        test_metric = "test/" + self.metric.split("/", 1)[1]
        columns = ["", "config", "status", "n", self.metric, test_metric, "params", "fit s"]
        columns += ["p (bootstrap)", "vs best"]
        return self.display[[c for c in columns if c in self.display.columns]]

    def print(self, console: Any = None) -> None:
        """Print the narrow leaderboard and the summary (rich when available)."""
        frame = self.console_frame()
        try:
            from rich.console import Console
            from rich.table import Table
            from rich.text import Text
        except ImportError:
            print(markdown_table(frame), *self.summary, sep="\n")
            return
        console = console or Console()
        table = Table(title="bakeoff leaderboard")
        for column in frame.columns:
            text = column in ("config", "status", "vs best")
            # fold, not "…": a truncated config name would hide which configuration a row is
            table.add_column(column, justify="left" if text else "right", overflow="fold")
        for row in frame.itertuples(False):
            # Text, not str: a config such as `tags=[a]` must not be read as rich markup.
            table.add_row(*(Text(str(v)) for v in row))
        console.print(table)
        for line in self.summary:
            console.print(line, markup=False, highlight=False)

    def __str__(self) -> str:
        return self.markdown


def print_leaderboard(comparison: Comparison, console: Any = None) -> None:
    """Print a comparison's narrow leaderboard and summary (for the end-of-multirun callback)."""
    comparison.print(console)


def _summary(
    table: pd.DataFrame, runs: pd.DataFrame, metric: str, mode: str, best: str | None, shared: list
) -> list[str]:
    name = metric.split("/", 1)[1]
    lines = []
    if best is None:
        lines.append(f"No completed run recorded {metric}: nothing selected yet.")
    else:
        row = table[table["config"] == best].iloc[0]
        val = format_mean_std(row[f"{metric}_mean"], row[f"{metric}_std"])
        test_key = f"test/{name}_mean"
        test = (
            f"test {name} {format_mean_std(row[test_key], row[f'test/{name}_std'])}"
            if test_key in table and math.isfinite(row[test_key])
            else f"test {name} not recorded"
        )
        lines.append(f"Selected on {metric} ({mode}): {best} (val {val}, n={row['n']}) → {test}")
        noise = table.loc[table["vs_best"] == "within noise", "config"].tolist()
        if noise:
            lines.append(
                f"Within noise of {best} (paired bootstrap p ≥ {ALPHA} on test predictions): "
                + ", ".join(noise)
            )
    counts = Counter(runs["status"])
    lines.append("Jobs: " + ", ".join(f"{n} {status}" for status, n in counts.most_common()) + ".")
    if shared:
        lines.append("Shared by all jobs: " + " ".join(shared))
    datasets = sorted({str(d) for d in runs["dataset"].dropna()})
    if len(datasets) > 1:
        lines.append(
            f"Jobs span {len(datasets)} datasets ({', '.join(datasets)}): rows mix datasets; "
            "--pivot data gives a backbone x dataset matrix."
        )
    return lines


# --------------------------------------------------------------------------- pivot


def _pivot_paths(pivot: str) -> tuple[str, str]:
    """(record field holding the pivot value, override key that sets it)."""
    if pivot in ("data", "model"):
        return f"{pivot}.name", pivot
    key = pivot.removeprefix("config.")
    return pivot, key.removesuffix(".name") if key.endswith(".name") else key


def pivot_table(
    jobs: Sequence[Job],
    runs: pd.DataFrame,
    pivot: str,
    column: str,
    mode: str,
    group_by: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows (configs without the pivot field) x pivot values: mean `column` over completed runs,
    plus each row's mean score and mean rank across the pivot values (rank 1 = best)."""
    field_path, override_key = _pivot_paths(pivot)
    rows, _ = _labels(jobs, group_by, drop={override_key, field_path})
    cells = pd.DataFrame(
        {
            "row": rows,
            "pivot": [_label_value(_field(job.record, field_path)) for job in jobs],
            "value": runs.get(column, math.nan),
            "status": runs["status"],
        }
    )
    cells = cells[(cells["status"] == "completed") & cells["value"].notna()]
    if cells.empty:
        return pd.DataFrame()
    matrix = cells.pivot_table(index="row", columns="pivot", values="value", aggfunc="mean")
    matrix.columns = [str(c) for c in matrix.columns]
    ranks = matrix.rank(axis=0, ascending=(mode == "min"), method="average")
    matrix["mean"] = matrix.mean(axis=1)
    matrix["mean rank"] = ranks.mean(axis=1)
    matrix = matrix.sort_values(["mean rank", "mean"], ascending=[True, mode == "min"])
    matrix.index.name = "config"
    return matrix.reset_index()


def _pivot_markdown(matrix: pd.DataFrame, column: str) -> str:
    shown = matrix.copy()
    for c in shown.columns[1:]:
        digits = 2 if c == "mean rank" else 3
        shown[c] = [f"{v:.{digits}f}" if math.isfinite(v) else "" for v in shown[c]]
    note = f"Mean {column} over completed runs; mean rank across columns (1 = best)."
    return f"# bakeoff pivot: {column}\n\n{markdown_table(shown)}\n\n{note}\n"


# --------------------------------------------------------------------------- writing


def _write(
    comparison: Comparison, out: Path, formats: Sequence[str], caption: str | None
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out / f"leaderboard.{fmt}"
        if fmt == "md":
            path.write_text(comparison.markdown)
        elif fmt == "csv":
            comparison.table.to_csv(path, index=False, float_format="%.6g")
        elif fmt == "tex":
            caption = caption or (
                f"Mean ± std over seeds; {STAR} selected on {comparison.metric} "
                "(validation); test metrics of the best checkpoint."
            )
            frame = _latex_frame(comparison.display, comparison.metric)
            path.write_text(latex_table(frame, caption, comments=comparison.summary))
        elif fmt == "html":
            summary = "".join(f"<li>{html.escape(s)}</li>" for s in comparison.summary)
            body = comparison.display.to_html(index=False, escape=True, na_rep="")
            path.write_text(
                '<!doctype html>\n<html><head><meta charset="utf-8"><title>bakeoff leaderboard'
                f"</title></head>\n<body>\n<h1>bakeoff leaderboard</h1>\n<ul>{summary}</ul>\n"
                f"{body}\n<p>{html.escape(comparison.legend)}</p>\n</body></html>\n"
            )
        written.append(path)
    return written


def _histories(jobs: Sequence[Job], labels: Sequence[str]) -> dict[str, list[list[dict]]]:
    histories: dict[str, list[list[dict]]] = {}
    for job, label in zip(jobs, labels, strict=True):
        # Completed runs only, like the table: a failed run's partial curve is not its config's.
        history = job.record.get("history") if job.status == "completed" else None
        if isinstance(history, list) and history:
            histories.setdefault(label, []).append([h for h in history if isinstance(h, dict)])
    return histories


def compare(
    dirs: str | Path | Iterable[str | Path],
    metric: str | None = None,
    mode: str | None = None,
    group_by: str | Sequence[str] | None = None,
    formats: str | Sequence[str] | None = FORMATS,
    out_dir: str | Path | None = None,
    pivot: str | None = None,
    latex_caption: str | None = None,
    plots: bool = True,
    pivot_split: str = "test",
) -> Comparison:
    """Collect every job under `dirs`, build the leaderboard, and write it.

    Files go to `out_dir` (default: `<first dir>/comparison`): leaderboard.<fmt> for each of
    `formats` (md, csv, tex, html; None or [] writes no table), pivot_<field>.{md,csv} with
    `pivot`, and *.png plots with `plots`. Raises NoRunsFoundError (a BakeoffError) when no job
    is found, BakeoffError on a bad option.
    """
    paths = _as_paths(dirs)
    formats = _split_list(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise BakeoffError(f"unknown format {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    if pivot_split not in SPLITS:
        raise BakeoffError(f"pivot split must be val or test, not {pivot_split!r}")
    group_fields = _split_list(group_by)
    jobs = find_jobs(paths)
    labels, shared = _labels(jobs, group_fields)
    runs = _frame(jobs, labels)
    metric, mode = _selection_metric(runs, metric, mode)
    metric_columns = _metric_columns(runs, first=metric.split("/", 1)[1])
    table, best = _sort_and_select(_aggregate(runs, metric_columns), metric, mode)
    table = _add_significance(table, runs, best)
    table.insert(0, "selected", table["config"] == best)
    comparison = Comparison(
        runs=runs,
        table=table,
        display=_display(table, metric_columns, best),
        metric=metric,
        mode=mode,
        best=best,
        summary=_summary(table, runs, metric, mode, best, shared),
    )
    out = Path(out_dir) if out_dir is not None else paths[0] / OUT_SUBDIR
    comparison.files = _write(comparison, out, formats, latex_caption)
    if pivot:
        column = f"{pivot_split}/{metric.split('/', 1)[1]}"
        comparison.pivot = pivot_table(jobs, runs, pivot, column, mode, group_fields)
        if not comparison.pivot.empty:
            stem = out / f"pivot_{re.sub(r'[^A-Za-z0-9_-]+', '_', pivot)}"
            stem.parent.mkdir(parents=True, exist_ok=True)
            stem.with_suffix(".md").write_text(_pivot_markdown(comparison.pivot, column))
            comparison.pivot.to_csv(stem.with_suffix(".csv"), index=False, float_format="%.6g")
            comparison.files += [stem.with_suffix(".md"), stem.with_suffix(".csv")]
    if plots:
        from bakeoff.results import plots as plotting

        try:
            comparison.files += plotting.plot_all(
                table, _histories(jobs, labels), metric, out, best=best
            )
        except Exception as exc:  # a broken plot must not cost the tables already written
            log.warning("plots skipped: %s: %s", type(exc).__name__, exc)
    return comparison


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bakeoff-compare",
        description="Leaderboard of the jobs under DIRs: mean ± std over seeds, best config "
        "selected on the validation metric, its test metric, cost, paired significance.",
    )
    parser.add_argument(
        "dirs", nargs="+", metavar="DIR", help="sweep or run dirs (searched recursively)"
    )
    parser.add_argument(
        "--metric", help="selection metric, val/<name> (default: the records' monitor)"
    )
    parser.add_argument("--mode", choices=["max", "min"], help="better direction of --metric")
    parser.add_argument(
        "--group-by",
        help="comma-separated dotted record fields to group by, e.g. "
        "model.name,config.finetune.name (default: the overrides minus seed/fold)",
    )
    parser.add_argument(
        "--format", default=",".join(FORMATS), help="tables to write (md,csv,tex,html)"
    )
    parser.add_argument("--latex-caption", help="caption of the LaTeX table (plain text, escaped)")
    parser.add_argument("--out", help="output dir (default: DIR/comparison of the first DIR)")
    parser.add_argument("--pivot", help="also write a configs x FIELD matrix, e.g. --pivot data")
    parser.add_argument(
        "--pivot-split", choices=list(SPLITS), default="test", help="metric split of the pivot"
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the png plots")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        comparison = compare(
            args.dirs,
            metric=args.metric,
            mode=args.mode,
            group_by=args.group_by,
            formats=args.format,
            out_dir=args.out,
            pivot=args.pivot,
            latex_caption=args.latex_caption,
            plots=not args.no_plots,
            pivot_split=args.pivot_split,
        )
    except BakeoffError as exc:
        print(f"bakeoff-compare: error: {exc}", file=sys.stderr)
        return 1
    comparison.print()
    if comparison.pivot is not None and not comparison.pivot.empty:
        print(_pivot_markdown(comparison.pivot, f"{args.pivot_split}/{comparison.metric[4:]}"))
    for path in comparison.files:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
