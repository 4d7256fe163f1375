"""comparison/report.html: one self-contained page, rendered by a real headless browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bakeoff.results import compare

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,900",
]
# Appended to a copy of the page: where each leaderboard header ends, measured by the browser.
MEASURE = """<script>
const w = document.documentElement.clientWidth;
const cols = [...document.querySelectorAll('#leaderboard thead th')].map(th => {
  const r = th.getBoundingClientRect();
  return {name: th.innerText, left: r.left, right: r.right, shown: r.width > 0};
});
const pre = document.createElement('pre'); pre.id = 'measured';
pre.textContent = JSON.stringify({width: w, cols: cols});
document.body.appendChild(pre);
</script>"""


def browser() -> str | None:
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def run_browser(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [exe, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_page_is_self_contained(sweep):  # noqa: F811
    c = compare(sweep, plots=True)
    page = (sweep / "comparison" / "report.html").read_text()
    # no network: no external src/href, every image inline
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    images = re.findall(r'<img[^>]+src="([^"]+)"', page)
    assert len(images) >= 3 and all(i.startswith("data:image/png;base64,") for i in images)
    assert c.summary[0].replace(">", "&gt;") in page  # the selection sentence
    assert "p (bootstrap): how often 10,000 resamples" in page  # significance in one line
    assert "versions: not recorded" in page  # these records have no env; real ones list them
    # one row per job that did not complete: model=a's failed seed, model=d, model=e running
    unfinished = page.split('id="unfinished"')[1].split("</table>")[0]
    assert unfinished.count("<tr") - 1 == len(c.runs[c.runs["status"] != "completed"])
    assert "CUDA OOM" in unfinished
    # leaderboard.html: the table alone
    fragment = (sweep / "comparison" / "leaderboard.html").read_text()
    assert fragment.startswith('<table id="leaderboard"') and "<html" not in fragment


def test_a_browser_shows_every_key_column_at_1400_px(sweep, tmp_path):  # noqa: F811
    exe = browser()
    if exe is None:
        pytest.skip("no headless browser: apt-get install chromium (the Makefile's install does)")
    compare(sweep, plots=True)
    page = sweep / "comparison" / "report.html"
    shot = tmp_path / "report_1400.png"
    proc = run_browser(exe, tmp_path / "profile-a", f"--screenshot={shot}", page.as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000, proc.stderr[-2000:]
    measured = tmp_path / "measured.html"
    measured.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
    proc = run_browser(exe, tmp_path / "profile-b", "--dump-dom", measured.as_uri())
    found = re.search(r'<pre id="measured">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stderr[-2000:]
    data = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    key = [c for c in data["cols"] if c["shown"]]
    names = [c["name"] for c in key]
    for wanted in ("config", "val/f1_macro", "test/f1_macro", "fit s", "p (bootstrap)", "vs best"):
        assert wanted in names, names
    clipped = [c["name"] for c in key if c["right"] > data["width"] or c["left"] < 0]
    assert not clipped, (clipped, data["width"])
    hidden = [c["name"] for c in data["cols"] if not c["shown"]]
    assert hidden, "the other columns sit behind the toggle"
