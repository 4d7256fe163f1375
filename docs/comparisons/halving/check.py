"""The demonstration's acceptance checks, read from the committed records alone.

    python docs/comparisons/halving/check.py docs/comparisons/halving > checks.txt

`DIR/full` is the full sweep, `DIR/race` the halving race over the same grid and seeds. It prints:
- compute: the race's fit seconds (every rung's launch, from race/halving.json) and job-epochs
  against the full sweep's measured ones (each job's results.json);
- selection: each leaderboard's selected configuration, and where the race's choice stands in
  the full sweep's leaderboard (its paired test against the full sweep's choice);
- survivors: for every job the race trained to the horizon, whether its history, metrics and
  predictions file equal the full sweep's job with the same overrides;
- replay: whether `replay.txt` (the replay of the full sweep) stops every configuration where the
  race did and selects what the race selected.
Exit status 1 when a survivor differs from its full-sweep job.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path


def records(sweep: Path) -> dict[str, dict]:
    return {
        p.parent.name: json.loads(p.read_text())
        for p in sorted(sweep.glob("*/results.json"))
        if p.parent.name.isdigit()
    }


def job_key(record: dict) -> tuple[str, ...]:
    # The race resumes its survivors with resume=true; otherwise the overrides are the sweep's.
    return tuple(o for o in record["overrides"] if o != "resume=true")


def leaderboard(sweep: Path) -> list[dict[str, str]]:
    with open(sweep / "comparison" / "leaderboard.csv", newline="") as f:
        return list(csv.DictReader(f))


def main(root: Path) -> int:
    full, race = records(root / "full"), records(root / "race")
    state = json.loads((root / "race" / "halving.json").read_text())

    race_fit = sum(
        seg["fit_s"] for job in state["jobs"].values() for seg in job["segments"].values()
    )
    race_epochs = sum(r["epochs_trained"] for r in race.values())
    full_fit = sum(r["timing"]["fit_s"] for r in full.values())
    full_epochs = sum(r["epochs_trained"] for r in full.values())
    print(
        f"compute: race {race_fit:.0f} fit s over {race_epochs} job-epochs; full sweep "
        f"{full_fit:.0f} fit s over {full_epochs} job-epochs: {race_fit / full_fit:.1%} of the "
        f"measured fit seconds, {race_epochs / full_epochs:.1%} of the job-epochs"
    )

    full_board, race_board = leaderboard(root / "full"), leaderboard(root / "race")
    full_pick = [row["config"] for row in full_board if row["selected"] == "True"]
    race_pick = [row["config"] for row in race_board if row["selected"] == "True"]
    standing = [row["vs_best"] or "(no test)" for row in full_board if row["config"] in race_pick]
    print(f"selection: full sweep {full_pick}; race {race_pick}")
    print(f"  the race's choice in the full sweep's leaderboard: {standing}")

    by_key = {job_key(r): (job, r) for job, r in full.items()}
    ok = True
    for job, rec in race.items():
        if rec["status"] != "completed":
            continue
        full_job, twin = by_key[job_key(rec)]
        same_history = rec["history"] == twin["history"]
        same_metrics = rec["metrics"] == twin["metrics"]
        preds = rec["paths"]["predictions"]
        same_preds = (root / "race" / job / preds).read_bytes() == (
            root / "full" / full_job / twin["paths"]["predictions"]
        ).read_bytes()
        equal = same_history and same_metrics and same_preds
        ok &= equal
        print(
            f"survivor: race job {job} (resumed {len(state['jobs'][job]['segments']) - 1} times) "
            f"vs full job {full_job}: history {same_history}, metrics {same_metrics}, "
            f"predictions {same_preds}"
        )

    replay = (root / "replay.txt").read_text()
    replay_stops = dict(
        (cfg, int(ep)) for ep, cfg in re.findall(r"stopped at epoch (\d+) of \d+: (.+)", replay)
    )
    race_stops = {
        entry["short"]: entry["stopped_at"]
        for entry in state["configurations"].values()
        if entry["status"] == "eliminated"
    }
    replay_pick = re.search(r"race selects: (.+)", replay)
    print(
        f"replay: same eliminations and epochs as the race: {replay_stops == race_stops}; "
        f"same selection: {bool(replay_pick) and [replay_pick.group(1)] == race_pick}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
