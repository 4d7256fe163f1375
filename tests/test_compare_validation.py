"""bakeoff-compare validates records against the schema (issue 24, item 6): a record that is
not one is listed as invalid with its path and first problem, never an empty row, and never
silently dropped from the selection."""

from __future__ import annotations

import json

from bakeoff.results.comparison import compare, main
from tests.helpers.comparisons import metrics, predictions, write_run


def test_a_bare_status_and_nan_metrics_are_listed_invalid_not_compared(tmp_path, capsys):
    root = tmp_path / "sweep"
    write_run(
        root, "0", ["model=a", "seed=1"], metrics(0.80), metrics(0.70), preds=predictions(180)
    )
    # tied with the winner on val, but its test metrics are bare NaN
    tied = write_run(
        root, "1", ["model=b", "seed=1"], metrics(0.80), metrics(0.70), preds=predictions(180)
    )
    text = (tied / "results.json").read_text().replace('"acc": 0.7', '"acc": NaN', 1)
    (tied / "results.json").write_text(text)
    bare = root / "2"
    bare.mkdir()
    (bare / "results.json").write_text(json.dumps({"status": "completed"}))

    c = compare(root, formats=None, plots=False)
    runs = c.runs.set_index("run_dir")
    assert runs.loc[str(tied), "status"] == "invalid"
    assert runs.loc[str(tied), "error"] == (
        f"invalid record {tied / 'results.json'}: metrics.test.acc is nan (not finite) in a "
        "completed record"
    )
    assert runs.loc[str(bare), "status"] == "invalid"
    assert runs.loc[str(bare), "error"] == (
        f"invalid record {bare / 'results.json'}: required field 'overrides' missing"
    )
    # neither is counted as a completed job, nor is the bare one an empty "(default)" row of ok
    statuses = dict(zip(c.table["config"], c.table["status"], strict=True))
    assert statuses["model=a"] == "1 ok"
    assert statuses["model=b"] == "1 invalid"
    assert all("ok" not in s for k, s in statuses.items() if k != "model=a")

    left_out = [line for line in c.summary if line.startswith("Left out of the selection")]
    assert left_out == [
        f"Left out of the selection: {runs.loc[str(tied), 'error']}",
        f"Left out of the selection: {runs.loc[str(bare), 'error']}",
    ]
    assert main([str(root)]) == 0
    assert capsys.readouterr().out.count("Left out of the selection") == 2


def test_record_problems_name_the_field():
    from bakeoff.results.validate_record import problem

    good = {
        "status": "completed",
        "overrides": [],
        "model": {"name": "m", "params_total": 10},
        "data": {},
        "monitor": {},
        "metrics": {"val": {"acc": 0.5}, "test": {"acc": 0.5}},
    }
    assert problem(good) is None
    assert problem({**good, "model": {"params_total": "ten"}}) == (
        "model.params_total is a string, not an integer"
    )
    assert problem({**good, "status": "done"}).startswith("status 'done' is none of")
    assert problem({**good, "metrics": {"val": {}, "test": {"acc": None}}}) == (
        "metrics.test.acc is null, not a number"
    )
    assert problem({**good, "status": "failed", "metrics": {}}) is None
