"""Every committed comparison in docs/comparisons keeps its records beside its tables (issue 25):
each job's results.json and predictions file, no checkpoint; rendered again from those records,
its leaderboard is the committed one (selection, rows, statuses, means and p-values)."""

from __future__ import annotations

import csv
import json
import math

import pytest

from bakeoff.results import compare
from tests.conftest import ROOT

DOCS = ROOT / "docs" / "comparisons"
SWEEPS = sorted(p.parent.parent for p in DOCS.rglob("comparison/leaderboard.csv"))


def rows(path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_every_committed_comparison_keeps_its_records_and_no_checkpoint():
    names = {str(s.relative_to(DOCS)) for s in SWEEPS}
    assert {"compare_text", "compare_vision", "pretraining_helps/fashion_mnist"} <= names
    assert {"halving/lr/full", "halving/lr/race", "pretraining_helps/amazon_reviews"} <= names
    for sweep in SWEEPS:
        records = sorted(sweep.glob("*/results.json"))
        assert records, f"{sweep}: no records beside its tables"
        for path in records:
            record = json.loads(path.read_text())
            if record["status"] == "completed":
                assert (path.parent / record["paths"]["predictions"]).is_file(), path
    assert not list(DOCS.rglob("*.ckpt")) and not list(DOCS.rglob("wandb"))


@pytest.mark.parametrize("sweep", SWEEPS, ids=lambda s: str(s.relative_to(DOCS)))
def test_rendered_again_from_its_records_the_leaderboard_is_the_committed_one(sweep, tmp_path):
    compare(sweep, formats=["csv"], plots=False, out_dir=tmp_path / "again")
    committed = rows(sweep / "comparison" / "leaderboard.csv")
    again = rows(tmp_path / "again" / "leaderboard.csv")
    assert [r["config"] for r in again] == [r["config"] for r in committed]
    numbers = [c for c in committed[0] if c.endswith("_mean") or c in ("p_bootstrap", "p_mcnemar")]
    for old, new in zip(committed, again, strict=True):
        assert (new["selected"], new["status"]) == (old["selected"], old["status"])
        for column in numbers:
            a, b = old[column], new[column]
            assert (a == b == "") or math.isclose(float(a), float(b), rel_tol=1e-9), (column, a, b)
