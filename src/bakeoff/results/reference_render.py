"""Published tables beside ours, part 3: the matched cells as markdown, LaTeX, HTML, CSV and a
Δ heatmap."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bakeoff.results.reference_match import WITHIN, ReferenceComparison

# Columns of the reference table that are names, not numbers (left-aligned in markdown)
TEXT_COLUMNS = ("reference", "model", "dataset", "split", "metric", "flag", "selected config")


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
