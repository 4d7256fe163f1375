"""comparison/report.html: the comparison as one self-contained page (no network, no files beside).

The page holds the selection sentence, the leaderboard (key columns first, the rest behind a
toggle; sticky header, numbers right-aligned, sortable columns), one row per job that did not
complete (failed, interrupted, still running, or stopped by a race: any status other than
`completed` gets its row, so a new kind of status needs no change here), the plots embedded as
base64 PNGs, the significance test in one line, the command and the versions.

`leaderboard.html` is the leaderboard table alone, the same markup, to paste into another page.
"""

from __future__ import annotations

import base64
import html
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from bakeoff.results.significance import ALPHA
from bakeoff.results.stats import BOOTSTRAP_RESAMPLES

if TYPE_CHECKING:
    from bakeoff.results.collect import Job
    from bakeoff.results.comparison import Comparison

REPORT_NAME = "report.html"
# Shown without the toggle, in this order (the selection metric on val and test go after "n").
KEY_FRONT = ["", "config", "status", "n"]
KEY_BACK = ["params", "fit s", "peak RSS MB", "p (bootstrap)", "p on", "vs best"]
NUMBER = re.compile(r"^[<>]?[-+−]?(\d|\.\d)")

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2733}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.sel{font-size:15px;background:#f3f7fb;border-left:4px solid #2b6cb0;padding:8px 12px}
.note,.meta{color:#556;font-size:13px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:4px 9px;border-bottom:1px solid #e3e7ec;white-space:nowrap;text-align:left}
thead th{position:sticky;top:0;background:#fff;box-shadow:0 1px 0 #9aa5b1;cursor:pointer;
 user-select:none}
thead th:hover{background:#eef3f8}
th.num,td.num{text-align:right}
tr.selected td{background:#fff8e1;font-weight:600}
tr.bad td{color:#a12}
table.key-only .extra{display:none}
.plots{display:flex;flex-wrap:wrap;gap:16px}
.plots figure{margin:0;max-width:640px} .plots img{max-width:100%;border:1px solid #e3e7ec}
figcaption{font-size:12px;color:#556}
code,pre{font:12px ui-monospace,Menlo,monospace;background:#f5f6f8;padding:2px 4px}
"""

SCRIPT = """
function num(t){t=t.trim().replace('−','-');const m=t.match(/^[<>]?(-?\\d*\\.?\\d+(e-?\\d+)?)([kMGT]?)/);
 if(!m)return null;const f={'':1,k:1e3,M:1e6,G:1e9,T:1e12}[m[3]];return parseFloat(m[1])*f}
document.querySelectorAll('table.sortable').forEach(tb=>{
 tb.querySelectorAll('thead th').forEach((th,i)=>th.addEventListener('click',()=>{
  const body=tb.tBodies[0],rows=[...body.rows],up=th.dataset.dir!=='asc';th.dataset.dir=up?'asc':'desc';
  rows.sort((a,b)=>{const x=a.cells[i].innerText,y=b.cells[i].innerText,p=num(x),q=num(y);
   if(p===null&&q===null)return up?x.localeCompare(y):y.localeCompare(x);
   if(p===null)return 1;if(q===null)return -1;return up?p-q:q-p});
  rows.forEach(r=>body.appendChild(r))}))});
const all=document.getElementById('all-columns');
if(all)all.addEventListener('change',()=>document.getElementById('leaderboard')
 .classList.toggle('key-only',!all.checked));
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def key_columns(display: pd.DataFrame, metric: str) -> list[str]:
    test = "test/" + metric.split("/", 1)[1]
    wanted = [*KEY_FRONT, metric, test, *KEY_BACK]
    return [c for c in wanted if c in display.columns]


def _numeric(values: Sequence[str]) -> bool:
    filled = [str(v).strip() for v in values if str(v).strip()]
    return bool(filled) and all(NUMBER.match(v) for v in filled)


def table_html(
    frame: pd.DataFrame,
    table_id: str,
    key: Sequence[str] | None = None,
    row_classes: Sequence[str] | None = None,
) -> str:
    """A sortable table of display strings; columns not in `key` get the class `extra`, numeric
    columns `num` (right-aligned, header too)."""
    columns = list(frame.columns)
    if key is not None:
        columns = [c for c in key if c in columns] + [c for c in columns if c not in key]
    classes = {}
    for c in columns:
        names = ["num"] if _numeric(frame[c].tolist()) else []
        if key is not None and c not in key:
            names.append("extra")
        classes[c] = f' class="{" ".join(names)}"' if names else ""
    head = "".join(f"<th{classes[c]}>{_esc(c)}</th>" for c in columns)
    rows = []
    for i, (_, row) in enumerate(frame[columns].iterrows()):
        extra = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        cells = "".join(f"<td{classes[c]}>{_esc(row[c])}</td>" for c in columns)
        rows.append(f"<tr{extra}>{cells}</tr>")
    key_only = " key-only" if key is not None else ""
    return (
        f'<table id="{table_id}" class="sortable{key_only}">\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n" + "\n".join(rows) + "\n</tbody></table>"
    )


def leaderboard_table(comparison: Comparison) -> str:
    display = comparison.display
    statuses = [str(s) for s in display["status"]]
    # no completed run at all: the row is marked (failed, running, eliminated ...)
    row_classes = [
        "selected" if star else ("" if re.search(r"\b\d+ ok\b", s) else "bad")
        for star, s in zip(display[""], statuses, strict=True)
    ]
    key = key_columns(display, comparison.metric)
    return table_html(display, "leaderboard", key, row_classes)


def unfinished_jobs(comparison: Comparison) -> pd.DataFrame:
    """One row per job whose status is not `completed` (failed, interrupted, running, eliminated
    by a race, ...): its configuration, seed/fold, status, error line and dir."""
    runs = comparison.runs
    rows = runs[runs["status"] != "completed"]
    errors = [
        str(e).strip().splitlines()[0][:160] if isinstance(e, str) and e.strip() else ""
        for e in rows.get("error", pd.Series([None] * len(rows)))
    ]
    return pd.DataFrame(
        {
            "config": rows["config"].tolist(),
            "seed": ["" if pd.isna(s) else str(s) for s in rows["seed"]],
            "fold": ["" if pd.isna(f) else str(f) for f in rows["fold"]],
            "status": rows["status"].tolist(),
            "error": errors,
            "dir": [Path(d).name for d in rows["run_dir"]],
        }
    )


def significance_line(comparison: Comparison) -> str:
    test = "test/" + comparison.metric.split("/", 1)[1]
    return (
        f"p (bootstrap): how often {BOOTSTRAP_RESAMPLES:,} resamples of the test examples, with "
        f"{test} recomputed on each, reverse the difference to ★ (two-sided; 'within noise' when "
        f"p ≥ {ALPHA}); p (McNemar): the same on per-example correctness, where it is 1/0."
    )


def sweep_command(jobs: Sequence[Job]) -> str | None:
    """The sweep's command line, from Hydra's multirun.yaml beside the job dirs."""
    import yaml

    for parent in dict.fromkeys(job.run_dir.parent for job in jobs):
        path = parent / "multirun.yaml"
        if path.is_file():
            try:
                config = yaml.safe_load(path.read_text()) or {}
                overrides = config["hydra"]["overrides"]["task"]
            except (OSError, yaml.YAMLError, KeyError, TypeError):
                continue
            return "python train.py -m " + shlex.join(str(o) for o in overrides or [])
    return None


def versions(jobs: Sequence[Job]) -> dict[str, Any]:
    for job in jobs:
        env = job.record.get("env")
        if isinstance(env, dict) and env:
            return env
    return {}


def _plots(files: Sequence[Path]) -> str:
    figures = []
    for path in files:
        if path.suffix == ".png" and path.is_file():
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            figures.append(
                f'<figure><img alt="{_esc(path.stem)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{_esc(path.name)}</figcaption></figure>"
            )
    return '<div class="plots">' + "".join(figures) + "</div>" if figures else ""


def report_html(comparison: Comparison, jobs: Sequence[Job], files: Sequence[Path]) -> str:
    from bakeoff.results.tables import legend

    title = f"bakeoff comparison: {jobs[0].run_dir.parent.name}" if jobs else "bakeoff comparison"
    summary = "".join(f"<p>{_esc(s)}</p>" for s in comparison.summary[:1])
    rest = "".join(f"<li>{_esc(s)}</li>" for s in comparison.summary[1:])
    hidden = len(comparison.display.columns) - len(
        key_columns(comparison.display, comparison.metric)
    )
    toggle = (
        f'<label><input type="checkbox" id="all-columns"> show all columns ({hidden} more)</label>'
        if hidden
        else ""
    )
    unfinished = unfinished_jobs(comparison)
    plots = _plots(files)
    jobs_part = (
        f"<h2>Jobs that did not complete ({len(unfinished)})</h2>"
        + table_html(unfinished, "unfinished", row_classes=["bad"] * len(unfinished))
        if len(unfinished)
        else ""
    )
    sweep = sweep_command(jobs)
    rendered = shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else ""
    env = versions(jobs)
    dirs = sorted({str(j.run_dir.parent) for j in jobs})
    env_text = ", ".join(f"{k} {v}" for k, v in env.items() if v) or "not recorded"
    commands = "".join(
        f"<p>{label}: <code>{_esc(cmd)}</code></p>"
        for label, cmd in (("sweep", sweep), ("this page", rendered))
        if cmd
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_esc(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        f'<h1>{_esc(title)}</h1>\n<div class="sel">{summary}</div>\n'
        + (f"<ul>{rest}</ul>\n" if rest else "")
        + f'<h2>Leaderboard</h2>\n<p class="meta">{toggle} · click a header to sort</p>\n'
        + leaderboard_table(comparison)
        + f'\n<p class="note">{_esc(significance_line(comparison))}</p>\n'
        + f'<p class="note">{_esc(legend(comparison))}</p>\n'
        + jobs_part
        + (f"<h2>Plots</h2>\n{plots}" if plots else "")
        + f'<h2>Reproduce</h2>\n{commands}<p class="meta">versions: {_esc(env_text)}</p>\n'
        + f'<p class="meta">{len(jobs)} jobs under {_esc(", ".join(dirs))}</p>'
        + f"\n<script>{SCRIPT}</script>\n</body></html>\n"
    )


def write_report(
    comparison: Comparison, jobs: Sequence[Job], out: Path, files: Sequence[Path]
) -> list[Path]:
    """report.html (the page) and leaderboard.html (the table alone) into `out`."""
    page = out / REPORT_NAME
    page.write_text(report_html(comparison, jobs, files), encoding="utf-8")
    fragment = out / "leaderboard.html"
    fragment.write_text(leaderboard_table(comparison) + "\n", encoding="utf-8")
    return [page, fragment]
