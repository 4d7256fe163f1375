"""Compare the jobs of one or more sweeps: leaderboard, selection on val, significance, cost.

Flow: find job dirs (results.json, or .hydra/ of a job still running) -> one row per job (`load`,
collect.py) -> one row per configuration (mean ± std over seeds/folds) -> select the best
configuration on the validation metric (aggregate.py) -> paired tests of its test predictions
against every other configuration (significance.py) -> tables, legend and console view
(md/csv/tex/html, tables.py), optional pivot (pivot.py), plots. Everything comes from what the
runs recorded. This module puts the steps together (`compare`, whose result `Comparison` is plain
data) and is the `bakeoff-compare` CLI (`main`). `bakeoff.results.compare` is the function.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bakeoff.errors import BakeoffError
from bakeoff.results.aggregate import aggregate, selection_metric, sort_and_select
from bakeoff.results.collect import (
    INVALID,
    SPLITS,
    Job,
    NoRunsFoundError,
    as_paths,
    config_labels,
    find_jobs,
    load,
    ordered_metric_columns,
    record_field,
    runs_frame,
    split_list,
)
from bakeoff.results.outputs import fingerprint, publish, stage
from bakeoff.results.pivot import pivot_markdown, pivot_table
from bakeoff.results.reference import apply_map, load_reference
from bakeoff.results.reference_match import (
    TOLERANCE_POINTS,
    TOLERANCE_STD,
    ReferenceComparison,
    compare_reference,
)
from bakeoff.results.reference_render import reference_markdown, write_reference
from bakeoff.results.report import write_report
from bakeoff.results.significance import ALPHA, add_significance, significance
from bakeoff.results.tables import (
    FORMATS,
    display_frame,
    format_mean_std,
    print_leaderboard,
    write_tables,
)

__all__ = [
    "Comparison",
    "NoRunsFoundError",
    "compare",
    "find_jobs",
    "load",
    "main",
    "pivot_table",
    "print_leaderboard",
    "significance",
]

log = logging.getLogger(__name__)

OUT_SUBDIR = "comparison"
# compare()'s arguments that change what it writes: with the records, they decide whether an
# earlier comparison in the same folder is replaced or kept (outputs.py)
COMPARE_OPTIONS = (
    "metric",
    "mode",
    "group_fields",
    "formats",
    "pivot",
    "pivot_split",
    "latex_caption",
    "plots",
    "references",
    "reference_map",
    "tolerance_points",
    "tolerance_std",
)


@dataclass
class Comparison:
    """The result of `compare`, as data: per-job runs, per-config table (numeric), its display
    strings, the selection. Rendering it (markdown, legend, console) is tables.py's."""

    runs: pd.DataFrame
    table: pd.DataFrame
    display: pd.DataFrame
    metric: str
    mode: str
    best: str | None
    summary: list[str]
    pivot: pd.DataFrame | None = None
    files: list[Path] = field(default_factory=list)
    reference: ReferenceComparison | None = (
        None  # with `references`: the published cells beside ours
    )


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
    for error in runs.loc[runs["status"] == INVALID, "error"]:
        lines.append(f"Left out of the selection: {error}")
    if shared:
        lines.append("Shared by all jobs: " + " ".join(shared))
    datasets = sorted({str(d) for d in runs["dataset"].dropna()})
    if len(datasets) > 1:
        lines.append(
            f"Jobs span {len(datasets)} datasets ({', '.join(datasets)}): rows mix datasets; "
            "--pivot data gives a backbone x dataset matrix."
        )
    return lines


def _histories(jobs: Sequence[Job], labels: Sequence[str]) -> dict[str, list[list[dict]]]:
    histories: dict[str, list[list[dict]]] = {}
    for job, label in zip(jobs, labels, strict=True):
        # Completed runs only, like the table: a failed run's partial curve is not its config's.
        history = job.record.get("history") if job.status == "completed" else None
        if isinstance(history, list) and history:
            histories.setdefault(label, []).append([h for h in history if isinstance(h, dict)])
    return histories


def _styles(jobs: Sequence[Job], labels: Sequence[str]) -> dict[str, tuple[str, str]]:
    """config -> (backbone, fine-tune strategy) from the records, for the plots' colour/marker."""
    styles: dict[str, tuple[str, str]] = {}
    for job, label in zip(jobs, labels, strict=True):
        model = record_field(job.record, "model.name")
        strategy = record_field(job.record, "finetune.strategy") or record_field(
            job.record, "finetune.name"
        )
        styles.setdefault(label, (str(model or ""), str(strategy or "")))
    return styles


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
    references: Sequence[str | Path] | None = None,
    reference_map: Sequence[str] | None = None,
    tolerance_points: float = TOLERANCE_POINTS,
    tolerance_std: float = TOLERANCE_STD,
) -> Comparison:
    """Collect every job under `dirs`, build the leaderboard, and write it.

    Files go to `out_dir` (default: `<first dir>/comparison`): leaderboard.<fmt> for each of
    `formats` (md, csv, tex, html; None or [] writes no table), pivot_<field>.{md,csv} with
    `pivot`, and *.png plots with `plots`. With `references` (reference files or names in
    conf/reference/), reference.<fmt>, reference_delta.png and with `pivot` reference_pivot.md:
    the published cells beside ours (reference.py); `reference_map` renames PAPER=OURS.
    Raises NoRunsFoundError (a BakeoffError) when no job
    is found, BakeoffError on a bad option.
    """
    paths = as_paths(dirs)
    formats = split_list(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise BakeoffError(f"unknown format {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    if pivot_split not in SPLITS:
        raise BakeoffError(f"pivot split must be val or test, not {pivot_split!r}")
    group_fields = split_list(group_by)
    jobs = find_jobs(paths)
    labels, shared = config_labels(jobs, group_fields)
    runs = runs_frame(jobs, labels)
    metric, mode = selection_metric(runs, metric, mode)
    metric_columns = ordered_metric_columns(runs, first=metric.split("/", 1)[1])
    table, best = sort_and_select(aggregate(runs, metric_columns), metric, mode)
    table = add_significance(table, runs, best, metric, mode)
    table.insert(0, "selected", table["config"] == best)
    comparison = Comparison(
        runs=runs,
        table=table,
        display=display_frame(table, metric_columns, best),
        metric=metric,
        mode=mode,
        best=best,
        summary=_summary(table, runs, metric, mode, best, shared),
    )
    from bakeoff.race.report import mark_stopped, race_markdown, race_summary

    race_lines, race_rows = race_summary(paths, jobs, labels, metric)  # a halving race's sweep
    comparison.summary += race_lines
    mark_stopped(comparison, race_rows)
    final = Path(out_dir) if out_dir is not None else paths[0] / OUT_SUBDIR
    out = stage(final)  # written here, then moved into place whole (outputs.py)
    comparison.files = write_tables(comparison, out, formats, latex_caption)
    if race_rows:
        (out / "race.md").write_text(race_markdown(race_rows, metric))
        comparison.files.append(out / "race.md")
    if references:
        loaded = apply_map([load_reference(r) for r in references], reference_map)
        comparison.reference = compare_reference(jobs, loaded, tolerance_points, tolerance_std)
        comparison.files += write_reference(
            comparison.reference, out, formats or ["md"], pivot=bool(pivot)
        )
    if pivot:
        column = f"{pivot_split}/{metric.split('/', 1)[1]}"
        comparison.pivot = pivot_table(jobs, runs, pivot, column, mode, group_fields)
        if not comparison.pivot.empty:
            stem = out / f"pivot_{re.sub(r'[^A-Za-z0-9_-]+', '_', pivot)}"
            stem.parent.mkdir(parents=True, exist_ok=True)
            stem.with_suffix(".md").write_text(pivot_markdown(comparison.pivot, column))
            comparison.pivot.to_csv(stem.with_suffix(".csv"), index=False, float_format="%.6g")
            comparison.files += [stem.with_suffix(".md"), stem.with_suffix(".csv")]
    if plots:
        from bakeoff.results import plots as plotting

        try:
            comparison.files += plotting.plot_all(
                table,
                _histories(jobs, labels),
                metric,
                out,
                best=best,
                styles=_styles(jobs, labels),
            )
        except Exception as exc:  # a broken plot must not cost the tables already written
            log.warning("plots skipped: %s: %s", type(exc).__name__, exc)
    if "html" in formats:  # the page, with the plots above embedded
        comparison.files += write_report(comparison, jobs, out, comparison.files)
    options = {k: v for k, v in locals().items() if k in COMPARE_OPTIONS}
    inputs = fingerprint([job.run_dir for job in jobs], options)
    comparison.files = publish(out, final, inputs, comparison.files)
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
    parser.add_argument(
        "--reference",
        action="append",
        metavar="FILE",
        help="published table to set beside ours (a YAML file, or a name in conf/reference/); "
        "repeatable. Adds paper, ours (mean ± std, n), Δ and a tolerance flag per cell",
    )
    parser.add_argument(
        "--map",
        action="append",
        metavar="PAPER=OURS",
        help="with --reference: compare a paper's model or data set name against this one of ours",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=TOLERANCE_POINTS,
        help="with --reference: |Δ| within this many points is within tolerance (default 1)",
    )
    parser.add_argument(
        "--tolerance-std",
        type=float,
        default=TOLERANCE_STD,
        help="... or within this many std of our seeds, when larger (default 2)",
    )
    race = parser.add_argument_group("halving replay (docs/halving.md)")
    race.add_argument(
        "--replay-halving",
        action="store_true",
        help="replay a successive-halving race on a finished full sweep from its per-epoch "
        "histories: its selection vs the sweep's, regret on val and test, epochs trained",
    )
    race.add_argument("--eta", type=int, default=3, help="the race's eta (default 3)")
    race.add_argument("--min-epochs", type=int, default=1, help="rung 0's epochs (default 1)")
    race.add_argument("--keep-min", type=int, default=1, help="fewest kept a rung (default 1)")
    return parser


def _replay(args) -> int:
    from bakeoff.results.halving_replay import replay, replay_lines

    try:
        result = replay(args.dirs, args.eta, args.min_epochs, args.keep_min)
    except BakeoffError as exc:
        print(f"bakeoff-compare: error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(replay_lines(result, args.eta, args.min_epochs)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.replay_halving:
        return _replay(args)
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
            references=args.reference,
            reference_map=args.map,
            tolerance_points=args.tolerance,
            tolerance_std=args.tolerance_std,
        )
    except BakeoffError as exc:
        print(f"bakeoff-compare: error: {exc}", file=sys.stderr)
        return 1
    print_leaderboard(comparison)
    if comparison.pivot is not None and not comparison.pivot.empty:
        print(pivot_markdown(comparison.pivot, f"{args.pivot_split}/{comparison.metric[4:]}"))
    if comparison.reference is not None:
        print(reference_markdown(comparison.reference, pivot=bool(args.pivot)))
    for path in comparison.files:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
