"""Published tables beside ours: reference files, matching sweep rows to their cells, Δ, tolerance.

A reference file (`conf/reference/<name>.yaml`) is one published table: its citation, the scale
of its numbers (papers print metrics x 100), a mapping from the paper's names to ours (models,
data sets, and per paper split the split of our records), and its cells, each with the value
and where in the source it was copied from.

Matching: completed jobs are grouped by (our model, our data set, the setting fields a reference
names, e.g. `finetune.strategy`); within a group each configuration (the overrides minus seed,
model and data) gets mean ± std over its seeds, and the configuration with the best mean of the
jobs' own monitored validation metric is selected, as the papers selected on dev. A cell then
reads that configuration's `<split>/<metric>`. Δ = ours − paper, in the paper's units; a cell is
flagged when |Δ| exceeds max(k · std of our seeds, a number of points).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bakeoff.errors import BakeoffError
from bakeoff.results.collect import Job, config_labels, label_value, record_field
from bakeoff.results.stats import summarize

REFERENCE_DIR = Path(__file__).resolve().parents[3] / "conf" / "reference"
TOLERANCE_POINTS = 1.0  # |Δ| up to this many points (the paper's unit) is within tolerance
TOLERANCE_STD = 2.0  # ... or up to this many standard deviations of our seeds, if larger
CELL_KEYS = ("model", "dataset", "split", "metric", "value", "citation")
WITHIN, OUTSIDE = "within", "OUTSIDE"
# Columns of the reference table that are names, not numbers (left-aligned in markdown)
TEXT_COLUMNS = ("reference", "model", "dataset", "split", "metric", "flag", "selected config")


AGGREGATES = ("mean", "median")


class ReferenceError(BakeoffError):
    """A reference file that cannot be read, or a cell that breaks its rules."""


@dataclass(frozen=True)
class Cell:
    """One number of a published table, in the paper's names and units."""

    model: str
    dataset: str
    split: str
    metric: str  # our metric name (acc, f1, mcc, pearson, ...)
    value: float
    citation: str  # where in the source the number is printed
    setting: str | None = None  # e.g. "logistic regression" vs "fine-tuned"


@dataclass
class Reference:
    name: str
    title: str
    citation: dict[str, Any]
    scale: float
    models: dict[str, str]  # paper model -> our model name
    datasets: dict[str, dict[str, Any]]  # paper data set -> {data: ours, splits: {paper: ours}}
    settings: dict[str, dict[str, str]]  # paper setting -> {record field: value}
    cells: list[Cell]
    path: Path | None = None
    # How the source aggregates its runs, and so how ours are: "mean" or "median" (RoBERTa and
    # DistilBERT report the median of five runs; BERT's Table 7 the mean of five restarts).
    aggregate: str = "mean"

    def source(self) -> str:
        c = self.citation
        where = ", ".join(str(c[k]) for k in ("table", "url") if c.get(k))
        return f"{c.get('paper', self.name)} ({c.get('year', 'n.d.')}), {where}"


# --------------------------------------------------------------------------- reading


def reference_path(name_or_path: str | Path) -> Path:
    """A file, or the name of one in conf/reference/ (`run_glue_bert_base_cased`)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    candidate = REFERENCE_DIR / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    known = sorted(p.stem for p in REFERENCE_DIR.glob("*.yaml"))
    raise ReferenceError(
        f"no reference file {name_or_path!r}; give a path or one of: {', '.join(known)}"
    )


def _require(mapping: Any, key: str, where: str, kind: type | tuple = object) -> Any:
    if not isinstance(mapping, dict) or key not in mapping or mapping[key] in (None, ""):
        raise ReferenceError(f"{where}: missing '{key}'")
    if not isinstance(mapping[key], kind):
        raise ReferenceError(f"{where}: '{key}' must be {getattr(kind, '__name__', kind)}")
    return mapping[key]


def _cell(raw: Any, where: str, ref: Reference) -> Cell:
    for key in CELL_KEYS:
        _require(raw, key, where)
    value = raw["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ReferenceError(f"{where}: value must be a number, not {value!r}")
    unknown = set(raw) - set(CELL_KEYS) - {"setting"}
    if unknown:
        raise ReferenceError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    cell = Cell(**{k: raw[k] for k in CELL_KEYS}, setting=raw.get("setting"))
    if cell.dataset not in ref.datasets:
        raise ReferenceError(
            f"{where}: data set {cell.dataset!r} is not in mapping.datasets "
            f"({', '.join(ref.datasets) or 'empty'})"
        )
    if cell.split not in ref.datasets[cell.dataset].get("splits", {}):
        raise ReferenceError(
            f"{where}: split {cell.split!r} of {cell.dataset!r} is not in its mapping.splits"
        )
    if cell.setting is not None and cell.setting not in ref.settings:
        raise ReferenceError(f"{where}: setting {cell.setting!r} is not in mapping.settings")
    return cell


def load_reference(name_or_path: str | Path) -> Reference:
    """Read and check a reference file: every cell has a value and its own citation."""
    import yaml

    path = reference_path(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ReferenceError(f"{path}: cannot read: {exc}") from exc
    where = str(path)
    citation = _require(raw, "citation", where, dict)
    for key in ("paper", "year"):
        _require(citation, key, f"{where}: citation")
    if not (citation.get("table") or citation.get("url")):
        raise ReferenceError(f"{where}: citation needs a 'table' or a 'url'")
    mapping = raw.get("mapping") or {}
    datasets = _require(mapping, "datasets", f"{where}: mapping", dict)
    ref = Reference(
        name=str(_require(raw, "name", where)),
        title=str(raw.get("title") or raw["name"]),
        citation=citation,
        scale=float(raw.get("scale", 1.0)),
        models={str(k): str(v) for k, v in (mapping.get("models") or {}).items()},
        datasets={str(k): dict(v) for k, v in datasets.items()},
        settings={str(k): dict(v) for k, v in (mapping.get("settings") or {}).items()},
        cells=[],
        path=path,
    )
    ref.aggregate = str(raw.get("aggregate", "mean"))
    if ref.aggregate not in AGGREGATES:
        raise ReferenceError(
            f"{where}: aggregate must be one of {', '.join(AGGREGATES)}, not {ref.aggregate!r}"
        )
    cells = raw.get("cells")
    if not isinstance(cells, list):
        raise ReferenceError(f"{where}: 'cells' must be a list (empty when none is sourced yet)")
    ref.cells = [_cell(c, f"{where}: cells[{i}]", ref) for i, c in enumerate(cells)]
    return ref


def apply_map(references: Sequence[Reference], pairs: Sequence[str] | None) -> list[Reference]:
    """Rename what a paper name maps to, `PAPER=OURS` (a model, or a data set's data config):
    e.g. `bert-base-cased=tiny_bert` compares a tiny stand-in against the published cell."""
    renames: dict[str, str] = {}
    for pair in pairs or ():
        paper, sep, ours = pair.partition("=")
        if not sep or not paper or not ours:
            raise ReferenceError(f"--map takes PAPER=OURS, not {pair!r}")
        renames[paper] = ours
    known = {n for r in references for n in (*r.models, *r.datasets)}
    unknown = sorted(set(renames) - known)
    if unknown:
        raise ReferenceError(
            f"--map names {', '.join(unknown)}, which no reference has; "
            f"paper names: {', '.join(sorted(known))}"
        )
    out = []
    for ref in references:
        models = {**{c.model: c.model for c in ref.cells}, **ref.models}
        models = {k: renames.get(k, v) for k, v in models.items()}
        datasets = {
            k: {**v, "data": renames.get(k, v.get("data", k))} for k, v in ref.datasets.items()
        }
        out.append(dataclasses.replace(ref, models=models, datasets=datasets))
    return out


# --------------------------------------------------------------------------- our side


@dataclass
class _Config:
    """One configuration of one (model, data, setting) group: its completed jobs."""

    label: str
    records: list[dict[str, Any]] = field(default_factory=list)

    def values(self, split: str, metric: str) -> list[float]:
        out = []
        for record in self.records:
            split_metrics = (record.get("metrics") or {}).get(split) or {}
            value = split_metrics.get(metric, split_metrics.get(f"{split}/{metric}"))
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out.append(float(value))
        return out

    def selection_score(self) -> tuple[float, str]:
        """Mean of the monitored val metric, signed so that larger is better."""
        monitor = record_field(self.records[0], "monitor.metric") or "val/acc"
        mode = record_field(self.records[0], "monitor.mode") or "max"
        split, _, name = str(monitor).partition("/")
        values = self.values(split or "val", name)
        if not values:
            return -math.inf, monitor
        mean = sum(values) / len(values)
        return (mean if mode == "max" else -mean), monitor


def _group_key(record: dict[str, Any], fields: Sequence[str]) -> tuple[str, ...]:
    model = label_value(record_field(record, "model.name"))
    data = label_value(record_field(record, "data.name"))
    return (model, data, *(label_value(record_field(record, f)) for f in fields))


def _our_groups(
    jobs: Sequence[Job], fields: Sequence[str]
) -> dict[tuple[str, ...], dict[str, _Config]]:
    """(model, data, setting values) -> configuration label -> its completed jobs."""
    by_key: dict[tuple[str, ...], list[Job]] = {}
    for job in jobs:
        if job.status == "completed":
            by_key.setdefault(_group_key(job.record, fields), []).append(job)
    groups: dict[tuple[str, ...], dict[str, _Config]] = {}
    for key, members in by_key.items():
        # Labelled within the group: what its configurations share (the data files, the
        # experiment) is no part of any one's name.
        labels, _ = config_labels(members, drop={"model", "data", *fields})
        configs = groups.setdefault(key, {})
        for job, label in zip(members, labels, strict=True):
            configs.setdefault(label, _Config(label)).records.append(job.record)
    return groups


def _selected(configs: Mapping[str, _Config]) -> tuple[_Config, str]:
    scored = sorted(configs.values(), key=lambda c: (-c.selection_score()[0], c.label))
    return scored[0], scored[0].selection_score()[1]


# --------------------------------------------------------------------------- comparing


@dataclass
class ReferenceComparison:
    """Reference cells beside our selected configurations; what matched nothing, said."""

    table: pd.DataFrame  # one row per reference cell that matched a group of our runs
    unmatched_cells: list[str]
    unmatched_rows: list[str]
    references: list[Reference]
    tolerance_points: float
    tolerance_std: float

    @property
    def empty(self) -> bool:
        return self.table.empty


def _cell_key(ref: Reference, cell: Cell, fields: Sequence[str]) -> tuple[str, ...]:
    setting = ref.settings.get(cell.setting or "", {})
    data = ref.datasets[cell.dataset].get("data", cell.dataset)
    model = ref.models.get(cell.model, cell.model)
    return (model, str(data), *(str(setting.get(f, "?")) for f in fields))


def compare_reference(
    jobs: Sequence[Job],
    references: Sequence[Reference],
    tolerance_points: float = TOLERANCE_POINTS,
    tolerance_std: float = TOLERANCE_STD,
) -> ReferenceComparison:
    """Every reference cell beside our runs: paper, ours (mean ± std, n), Δ, tolerance, flag."""
    if tolerance_points < 0 or tolerance_std < 0:
        raise ReferenceError("tolerances must be >= 0")
    fields = sorted({f for r in references for s in r.settings.values() for f in s})
    groups = _our_groups(jobs, fields)
    rows, unmatched_cells, used = [], [], set()
    for ref in references:
        for cell in ref.cells:
            key = _cell_key(ref, cell, fields)
            split = str(ref.datasets[cell.dataset]["splits"][cell.split])
            name = f"{ref.name}: {cell.model} · {cell.dataset} · {cell.split} {cell.metric}"
            if cell.setting:
                name += f" · {cell.setting}"
            if key not in groups:
                unmatched_cells.append(f"{name} (wants {' '.join(key)}: no completed run)")
                continue
            config, monitor = _selected(groups[key])
            values = config.values(split, cell.metric)
            if not values:
                unmatched_cells.append(
                    f"{name} (runs of {' '.join(key)} recorded no {split}/{cell.metric})"
                )
                continue
            used.add(key)
            s = summarize(values)
            finite = [float(v) for v in values if v is not None and math.isfinite(v)]
            median = statistics.median(finite) if finite else math.nan
            center = median if ref.aggregate == "median" else s.mean
            ours, std = center * ref.scale, s.std * ref.scale
            delta = ours - cell.value
            tolerance = max(tolerance_points, tolerance_std * std if math.isfinite(std) else 0.0)
            rows.append(
                {
                    "reference": ref.name,
                    "model": cell.model,
                    "dataset": cell.dataset,
                    "setting": cell.setting or "",
                    "split": cell.split,
                    "metric": cell.metric,
                    "paper": cell.value,
                    "ours_mean": ours,
                    "ours_std": std,
                    "n": s.n,
                    "aggregate": ref.aggregate,
                    "delta": delta,
                    "tolerance": tolerance,
                    "flag": WITHIN if abs(delta) <= tolerance else OUTSIDE,
                    "our_model": key[0],
                    "our_data": key[1],
                    "our_split": split,
                    "config": config.label,
                    "selected_on": monitor,
                    "citation": f"{cell.citation}; {ref.source()}",
                }
            )
    unmatched_rows = [
        f"{' '.join(key)} ({len(configs)} configuration(s))"
        for key, configs in sorted(groups.items())
        if key not in used
    ]
    return ReferenceComparison(
        pd.DataFrame(rows),
        unmatched_cells,
        unmatched_rows,
        list(references),
        tolerance_points,
        tolerance_std,
    )


# --------------------------------------------------------------------------- rendering


def format_ours(mean: float, std: float, n: int, aggregate: str = "mean") -> str:
    spread = f" ± {std:.2f}" if math.isfinite(std) else ""
    how = "median, " if aggregate == "median" else ""
    return f"{mean:.2f}{spread} ({how}n={n})"


def display_frame(result: ReferenceComparison) -> pd.DataFrame:
    t = result.table
    return pd.DataFrame(
        {
            "reference": t["reference"],
            "model": t["model"],
            "dataset": t["dataset"] + [f" ({s})" if s else "" for s in t["setting"]],
            "split": t["split"],
            "metric": t["metric"],
            "paper": [f"{v:g}" for v in t["paper"]],
            "ours (mean ± std, n)": [
                format_ours(m, s, n, a)
                for m, s, n, a in zip(
                    t["ours_mean"], t["ours_std"], t["n"], t["aggregate"], strict=True
                )
            ],
            "Δ": [f"{d:+.2f}" for d in t["delta"]],
            "tolerance": [f"±{v:.2f}" for v in t["tolerance"]],
            "flag": t["flag"],
            "selected config": t["config"],
        }
    )


def pivot_frame(result: ReferenceComparison) -> pd.DataFrame:
    """Backbone x data set (x metric, split), as the paper lays it out: `ours / paper (Δ)`."""
    t = result.table
    column = [
        " ".join(x for x in (d, s, m, sp) if x)
        for d, s, m, sp in zip(t["dataset"], t["setting"], t["metric"], t["split"], strict=True)
    ]
    text = [
        f"{o:.1f} / {p:g} ({d:+.1f}{'' if f == WITHIN else ' !'})"
        for o, p, d, f in zip(t["ours_mean"], t["paper"], t["delta"], t["flag"], strict=True)
    ]
    frame = pd.DataFrame({"model": t["model"], "column": column, "text": text})
    matrix = frame.pivot_table(index="model", columns="column", values="text", aggfunc="first")
    matrix = matrix.reindex(
        columns=list(dict.fromkeys(column)), index=list(dict.fromkeys(t["model"]))
    )
    matrix.index.name = "model"
    return matrix.reset_index().fillna("")


def delta_matrix(result: ReferenceComparison) -> pd.DataFrame:
    """Δ per backbone (rows) and data set · metric · split (columns), for the heat-map."""
    t = result.table
    column = [
        " ".join(x for x in (d, s, m, sp) if x)
        for d, s, m, sp in zip(t["dataset"], t["setting"], t["metric"], t["split"], strict=True)
    ]
    frame = pd.DataFrame({"model": t["model"], "column": column, "delta": t["delta"]})
    matrix = frame.pivot_table(index="model", columns="column", values="delta", aggfunc="mean")
    return matrix.reindex(
        columns=list(dict.fromkeys(column)), index=list(dict.fromkeys(t["model"]))
    )


def legend_text(result: ReferenceComparison) -> str:
    return (
        "Δ = ours − paper, in the paper's units (metrics x 100). Ours: the configuration selected "
        "on each model's own monitored validation metric (as the papers selected on dev), mean ± "
        "sample std over its completed seeds (n); the median instead where the source reports a "
        f"median of its runs (the file's `aggregate`, marked 'median'). Flag OUTSIDE when |Δ| > max({result.tolerance_std:g}"
        f" · std, {result.tolerance_points:g} point{'s' if result.tolerance_points != 1 else ''})."
    )


def sources_text(result: ReferenceComparison) -> list[str]:
    return [f"{r.name}: {r.source()}" for r in result.references]


def unmatched_text(result: ReferenceComparison) -> list[str]:
    lines = []
    if result.unmatched_cells:
        lines.append(f"Reference cells without a matching run ({len(result.unmatched_cells)}):")
        lines += [f"  - {c}" for c in result.unmatched_cells]
    if result.unmatched_rows:
        lines.append(
            f"Our runs (model, data set) that no reference cell names ({len(result.unmatched_rows)}):"
        )
        lines += [f"  - {r}" for r in result.unmatched_rows]
    if lines and result.empty:
        names = sorted({n for r in result.references for n in (*r.models.values(),)})
        data = sorted({str(d.get("data")) for r in result.references for d in r.datasets.values()})
        lines.insert(
            0,
            "No run matched any reference cell. The references expect models "
            f"{', '.join(names) or '(none)'} on data sets {', '.join(data)}; "
            "--map PAPER=OURS renames where our names differ.",
        )
    return lines


def reference_markdown(result: ReferenceComparison, pivot: bool = False) -> str:
    from bakeoff.results.tables import markdown_table

    lines = ["# bakeoff vs published results", ""]
    lines += [f"- {s}" for s in sources_text(result)] + [""]
    if not result.empty:
        lines += [markdown_table(display_frame(result), TEXT_COLUMNS), ""]
        if pivot:
            lines += ["## Backbone x data set: ours / paper (Δ; ! outside tolerance)", ""]
            lines += [markdown_table(pivot_frame(result), ["model"]), ""]
    lines += [legend_text(result), ""]
    lines += unmatched_text(result)
    return "\n".join(lines).rstrip() + "\n"


def write_reference(
    result: ReferenceComparison, out: Path, formats: Sequence[str], pivot: bool = False
) -> list[Path]:
    """reference.<fmt> for each format, reference_pivot.{md,csv} with `pivot`, and the Δ heat-map
    (reference_delta.png). With no matched cell only reference.md (what was unmatched)."""
    from bakeoff.results.tables import latex_table

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out / f"reference.{fmt}"
        if fmt == "md":
            path.write_text(reference_markdown(result, pivot))
        elif result.empty:
            continue
        elif fmt == "csv":
            result.table.to_csv(path, index=False, float_format="%.6g")
        elif fmt == "tex":
            frame = display_frame(result).drop(columns=["selected config"])
            text = latex_table(frame, legend_text(result), comments=sources_text(result))
            path.write_text(text.replace("tab:bakeoff-leaderboard", "tab:bakeoff-reference"))
        elif fmt == "html":
            import html

            body = display_frame(result).to_html(index=False, escape=True, na_rep="")
            sources = "".join(f"<li>{html.escape(s)}</li>" for s in sources_text(result))
            path.write_text(
                '<!doctype html>\n<html><head><meta charset="utf-8"><title>bakeoff vs published'
                f"</title></head>\n<body>\n<h1>bakeoff vs published results</h1>\n<ul>{sources}"
                f"</ul>\n{body}\n<p>{html.escape(legend_text(result))}</p>\n</body></html>\n"
            )
        written.append(path)
    if result.empty:
        return written
    if pivot:
        from bakeoff.results.tables import markdown_table

        stem = out / "reference_pivot"
        frame = pivot_frame(result)
        stem.with_suffix(".md").write_text(
            markdown_table(frame, ["model"]) + "\n\n" + legend_text(result) + "\n"
        )
        frame.to_csv(stem.with_suffix(".csv"), index=False)
        written += [stem.with_suffix(".md"), stem.with_suffix(".csv")]
    from bakeoff.results.plots import delta_heatmap

    heatmap = delta_heatmap(delta_matrix(result), out / "reference_delta.png")
    return written + ([heatmap] if heatmap else [])
