"""Render a comparison: number formatting, markdown / LaTeX / html / csv tables, escaping, the
legend, the leaderboard document and its console view."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from bakeoff.results.aggregate import COST
from bakeoff.results.significance import ALPHA, statistics_used
from bakeoff.results.stats import BOOTSTRAP_RESAMPLES

if TYPE_CHECKING:
    from bakeoff.results.comparison import Comparison

FORMATS = ("md", "csv", "tex", "html")
STAR = "★"


def _si(value: float) -> str:
    if value is None or not math.isfinite(value):
        return ""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.1f}{suffix}"
    return f"{value:.0f}"


def format_cost(value: float, style: str | int) -> str:
    """A cost cell: "si" (1.2M, 3.4G) or a number of decimals."""
    if value is None or not math.isfinite(value):
        return ""
    return _si(value) if style == "si" else f"{value:.{style}f}"


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


# --------------------------------------------------------------------------- tables


def display_frame(
    table: pd.DataFrame, metric_columns: Sequence[str], best: str | None
) -> pd.DataFrame:
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
    for column, (header, style) in COST.items():
        out[header] = [format_cost(v, style) for v in table[column]]
    out["p (bootstrap)"] = [format_p(p) for p in table["p_bootstrap"]]
    # the statistic each p-value is on: the selection metric on test, where it could be recomputed
    out["p on"] = [
        s if isinstance(s, str) and math.isfinite(p) else ""
        for s, p in zip(table["statistic"], table["p_bootstrap"], strict=True)
    ]
    out["p (McNemar)"] = [format_p(p) for p in table["p_mcnemar"]]
    out["vs best"] = list(table["vs_best"])
    return pd.DataFrame(out)


def legend(comparison: Comparison) -> str:
    """What the leaderboard shows: selection, aggregation, and the statistic the p-values test."""
    statistics = statistics_used(comparison.table)
    tested = " / ".join(s if s.startswith("test/") else f"test {s}" for s in statistics)
    test_metric = "test/" + comparison.metric.split("/", 1)[-1]  # no test ran: what one would be
    table = comparison.table
    has_mcnemar = "p_mcnemar" in table and table["p_mcnemar"].notna().any()
    mcnemar = ", and exact McNemar where the score is 1/0 correctness" if has_mcnemar else ""
    return (
        f"{STAR} selected on {comparison.metric} ({comparison.mode}); rows sorted by it. Metrics: "
        "mean ± sample std over completed seeds/folds (n). p: two-sided paired bootstrap "
        f"({BOOTSTRAP_RESAMPLES:,} resamples) of the {tested or test_metric} vs the "
        f"selected config, the metric recomputed on each resample of the test examples (column "
        f"'p on'){mcnemar}; 'within noise' when p ≥ {ALPHA}. peak RSS: each job's own peak "
        "(the high-water mark reset at its start; jobs sharing a process, as with the basic "
        "launcher, include what earlier jobs left loaded)."
    )


def leaderboard_markdown(comparison: Comparison) -> str:
    """The leaderboard as a markdown document: summary lines, table, legend."""
    lines = ["# bakeoff leaderboard", ""] + [f"- {s}" for s in comparison.summary] + [""]
    lines += [markdown_table(comparison.display), "", legend(comparison), ""]
    return "\n".join(lines)


def console_frame(comparison: Comparison) -> pd.DataFrame:
    """A narrow view for terminals: selection metric on val and test, cost, significance."""
    metric = comparison.metric
    test_metric = "test/" + metric.split("/", 1)[1]
    columns = ["", "config", "status", "n", metric, test_metric, "params", "fit s"]
    columns += ["p (bootstrap)", "p on", "vs best"]
    return comparison.display[[c for c in columns if c in comparison.display.columns]]


def print_leaderboard(comparison: Comparison, console: Any = None) -> None:
    """Print the narrow leaderboard and the summary (rich when available)."""
    frame = console_frame(comparison)
    try:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text
    except ImportError:
        print(markdown_table(frame), *comparison.summary, sep="\n")
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
    for line in comparison.summary:
        console.print(line, markup=False, highlight=False)


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame, text_columns: Sequence[str] = ()) -> str:
    """Numbers right-aligned; the leaderboard's name columns and `text_columns` left-aligned."""
    text = {"", "config", "status", "vs best", *text_columns}
    numeric = {c for c in frame.columns if c not in text}
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
    "Δ": r"$\Delta$",  # reference tables (reference.py): Δ = ours − paper
    "−": "-",
    "·": r"$\cdot$",
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


def latex_frame(display: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The paper subset: selection metric on val, test metrics, cost, p; the ★ joins the name."""
    config = [f"{star} {c}".strip() for star, c in zip(display[""], display["config"], strict=True)]
    columns = ["n", metric] + [c for c in display.columns if c.startswith("test/")]
    columns += ["params", "FLOPs/sample", "fit s", "p (bootstrap)"]
    frame = display[[c for c in columns if c in display.columns]].copy()
    frame.insert(0, "config", config)
    return frame


def write_tables(
    comparison: Comparison, out: Path, formats: Sequence[str], caption: str | None
) -> list[Path]:
    """Write `out/leaderboard.<fmt>` for each of `formats` (md, csv, tex, html)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out / f"leaderboard.{fmt}"
        if fmt == "md":
            path.write_text(leaderboard_markdown(comparison))
        elif fmt == "csv":
            comparison.table.to_csv(path, index=False, float_format="%.6g")
        elif fmt == "tex":
            caption = caption or (
                f"Mean ± std over seeds; {STAR} selected on {comparison.metric} "
                "(validation); test metrics of the best checkpoint."
            )
            frame = latex_frame(comparison.display, comparison.metric)
            path.write_text(latex_table(frame, caption, comments=comparison.summary))
        elif fmt == "html":
            continue  # report.html and the leaderboard.html fragment: results/report.py
        written.append(path)
    return written
